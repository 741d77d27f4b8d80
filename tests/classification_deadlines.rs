//! The Rule "Personal deadline", on both sides of each boundary: last
//! activity plus the type's period, kept until a future reservation
//! happens, extended by every activity, on the branch's calendar.

mod common;

use chrono::Duration;
use common::classify::world;
use common::{day, fx};
use retentiond::retention::classify::Status;

#[tokio::test]
async fn personal_deadline_is_last_activity_plus_the_types_period() {
    let w = world().await;
    fx::policy(&w.c, w.head, "guest", "3 years").await;
    let g = fx::guest(&w.c, w.head, day("2019-01-10")).await;
    fx::sale(&w.c, g, day("2020-01-10")).await;
    let deadline = day("2023-01-10");
    let c = w.classify(g, deadline).await;
    assert_eq!(c.personal_deadline, Some(deadline));
    w.assert_boundary(g, deadline, Status::Retained, Status::Overdue)
        .await;
}

#[tokio::test]
async fn each_type_uses_its_own_period() {
    let w = world().await;
    let t0 = day("2020-01-10");
    fx::policy(&w.c, w.head, "newsletter_subscriber", "1 year").await;
    fx::policy(&w.c, w.head, "guest_without_sale", "2 years").await;
    fx::policy(&w.c, w.head, "regular_guest", "4 years").await;
    let subscriber = fx::guest(&w.c, w.head, t0).await;
    fx::newsletter(&w.c, subscriber, t0, None).await;
    let no_sale = fx::guest(&w.c, w.head, t0).await;
    let regular = fx::guest(&w.c, w.head, t0).await;
    fx::set_verified(&w.c, regular).await;
    for (g, deadline) in [
        (subscriber, day("2021-01-10")),
        (no_sale, day("2022-01-10")),
        (regular, day("2024-01-10")),
    ] {
        assert_eq!(w.classify(g, t0).await.personal_deadline, Some(deadline));
        w.assert_boundary(g, deadline, Status::Retained, Status::Overdue)
            .await;
    }
}

#[tokio::test]
async fn guest_with_future_reservation_is_kept_until_it_happens() {
    let w = world().await;
    fx::policy(&w.c, w.head, "guest_without_sale", "1 year").await;
    let g = fx::guest(&w.c, w.head, day("2020-01-10")).await;
    // booked in 2020 for a day long after the period ends
    let reserved_for = day("2022-06-15");
    fx::reservation(&w.c, g, day("2020-01-10"), reserved_for, false).await;
    assert_eq!(
        w.classify(g, day("2021-06-01")).await.personal_deadline,
        Some(reserved_for)
    );
    w.assert_boundary(g, reserved_for, Status::Retained, Status::Overdue)
        .await;
}

#[tokio::test]
async fn cancelled_reservation_does_not_keep_the_guest() {
    let w = world().await;
    fx::policy(&w.c, w.head, "guest_without_sale", "1 year").await;
    let g = fx::guest(&w.c, w.head, day("2020-01-10")).await;
    fx::reservation(&w.c, g, day("2020-01-10"), day("2022-06-15"), true).await;
    let deadline = day("2021-01-10");
    assert_eq!(
        w.classify(g, deadline).await.personal_deadline,
        Some(deadline)
    );
    w.assert_boundary(g, deadline, Status::Retained, Status::Overdue)
        .await;
}

#[tokio::test]
async fn reservation_sale_edit_and_signup_extend_retention() {
    let w = world().await;
    fx::policy(&w.c, w.head, "guest", "1 year").await;
    let g = fx::guest(&w.c, w.head, day("2020-01-10")).await;
    fx::sale(&w.c, g, day("2020-02-10")).await;
    assert_eq!(
        w.classify(g, day("2021-01-01")).await.personal_deadline,
        Some(day("2021-02-10"))
    );
    fx::set_profile_updated(&w.c, g, day("2020-05-10")).await;
    assert_eq!(
        w.classify(g, day("2021-01-01")).await.personal_deadline,
        Some(day("2021-05-10"))
    );
    fx::reservation(&w.c, g, day("2020-07-10"), day("2020-07-12"), false).await;
    assert_eq!(
        w.classify(g, day("2021-01-01")).await.personal_deadline,
        Some(day("2021-07-10"))
    );
    fx::newsletter(&w.c, g, day("2020-09-10"), Some(day("2020-09-20"))).await;
    assert_eq!(
        w.classify(g, day("2021-01-01")).await.personal_deadline,
        Some(day("2021-09-10"))
    );
}

#[tokio::test]
async fn deadlines_follow_the_branch_calendar_across_daylight_saving() {
    let w = world().await;
    fx::policy(&w.c, w.head, "guest_without_sale", "180 days").await;
    // 2021-01-10 12:00 UTC is 13:00 in Berlin (CET); 180 days later is summer
    // time (CEST), and 13:00 local is then 11:00 UTC.
    let g = fx::guest(&w.c, w.head, day("2021-01-10")).await;
    let expected = day("2021-07-09") - Duration::hours(1);
    assert_eq!(
        w.classify(g, day("2021-02-01")).await.personal_deadline,
        Some(expected)
    );
}
