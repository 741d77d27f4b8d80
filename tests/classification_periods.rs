//! The Rule "No defaults" and inheritance: an unconfigured period means
//! never, a branch inherits its head office's period unless it has its own,
//! and a head office inherits nothing from a branch.

mod common;

use common::classify::world;
use common::{day, fx};
use retentiond::retention::classify::Status;

#[tokio::test]
async fn unconfigured_period_means_never() {
    let w = world().await;
    let g = fx::guest(&w.c, w.head, day("2000-01-01")).await;
    let c = w.classify(g, day("2026-01-01")).await;
    assert_eq!(c.personal_deadline, None);
    assert_eq!(c.status, Status::NotConfigured);
}

#[tokio::test]
async fn branch_inherits_the_head_office_period() {
    let w = world().await;
    let branch = fx::branch(&w.c, "Filiale", Some(w.head)).await;
    fx::policy(&w.c, w.head, "guest_without_sale", "1 year").await;
    let g = fx::guest(&w.c, branch, day("2020-01-10")).await;
    assert_eq!(
        w.classify(g, day("2020-06-01")).await.personal_deadline,
        Some(day("2021-01-10"))
    );
    w.assert_boundary(g, day("2021-01-10"), Status::Retained, Status::Overdue)
        .await;
}

#[tokio::test]
async fn branch_own_period_overrides_the_head_office() {
    let w = world().await;
    let branch = fx::branch(&w.c, "Filiale", Some(w.head)).await;
    fx::policy(&w.c, w.head, "guest_without_sale", "1 year").await;
    fx::policy(&w.c, branch, "guest_without_sale", "2 years").await;
    let g = fx::guest(&w.c, branch, day("2020-01-10")).await;
    let head_guest = fx::guest(&w.c, w.head, day("2020-01-10")).await;
    assert_eq!(
        w.classify(g, day("2020-06-01")).await.personal_deadline,
        Some(day("2022-01-10"))
    );
    assert_eq!(
        w.classify(head_guest, day("2020-06-01"))
            .await
            .personal_deadline,
        Some(day("2021-01-10"))
    );
}

#[tokio::test]
async fn head_office_does_not_inherit_from_a_branch() {
    let w = world().await;
    let branch = fx::branch(&w.c, "Filiale", Some(w.head)).await;
    fx::policy(&w.c, branch, "guest_without_sale", "1 year").await;
    let g = fx::guest(&w.c, w.head, day("2020-01-10")).await;
    assert_eq!(
        w.classify(g, day("2026-01-01")).await.status,
        Status::NotConfigured
    );
}
