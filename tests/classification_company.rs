//! Company guests and invoices: personal data by the guest's (or verified
//! regular guest's) period, fiscal data until the fiscal deadline, and an
//! unpaid invoice that blocks a due guest.

mod common;

use common::classify::{company_guest, world};
use common::{day, fx};
use retentiond::retention::classify::Status;
use retentiond::retention::GuestType;

// --- Company guests ---------------------------------------------------------

#[tokio::test]
async fn company_guest_personal_data_follows_the_guest_period() {
    let w = world().await;
    fx::policy(&w.c, w.head, "guest", "2 years").await;
    fx::policy(&w.c, w.head, "regular_guest", "5 years").await;
    fx::policy(&w.c, w.head, "company_guest", "10 years").await;
    let g = company_guest(&w, false).await;
    let c = w.classify(g, day("2021-01-01")).await;
    assert_eq!(c.guest_type, GuestType::CompanyGuest);
    assert_eq!(c.personal_deadline, Some(day("2022-04-10")));
    w.assert_boundary(g, day("2022-04-10"), Status::Retained, Status::Overdue)
        .await;
}

#[tokio::test]
async fn verified_company_guest_personal_data_follows_the_regular_guest_period() {
    let w = world().await;
    fx::policy(&w.c, w.head, "guest", "2 years").await;
    fx::policy(&w.c, w.head, "regular_guest", "5 years").await;
    fx::policy(&w.c, w.head, "company_guest", "10 years").await;
    let g = company_guest(&w, true).await;
    let c = w.classify(g, day("2021-01-01")).await;
    assert_eq!(c.guest_type, GuestType::CompanyGuest);
    assert_eq!(c.personal_deadline, Some(day("2025-04-10")));
    w.assert_boundary(g, day("2025-04-10"), Status::Retained, Status::Overdue)
        .await;
}

#[tokio::test]
async fn fiscal_deadline_is_latest_sale_or_invoice_plus_company_period() {
    let w = world().await;
    fx::policy(&w.c, w.head, "guest", "2 years").await;
    fx::policy(&w.c, w.head, "company_guest", "10 years").await;
    let g = company_guest(&w, false).await;
    // the invoice (2020-05-10) is later than the sale (2020-04-10)
    let fiscal = day("2030-05-10");
    assert_eq!(
        w.classify(g, day("2021-01-01")).await.fiscal_deadline,
        Some(fiscal)
    );
    // once anonymized, the fiscal data waits for its own deadline
    w.c.execute(
        "UPDATE guests SET anonymized_at = $2 WHERE id = $1",
        &[&g, &day("2022-04-11")],
    )
    .await
    .unwrap();
    w.assert_boundary(g, fiscal, Status::FiscalRetained, Status::FiscalOverdue)
        .await;
}

#[tokio::test]
async fn fiscal_deadline_is_never_before_the_personal_deadline() {
    let w = world().await;
    fx::policy(&w.c, w.head, "guest", "5 years").await;
    fx::policy(&w.c, w.head, "company_guest", "1 year").await;
    let g = company_guest(&w, false).await;
    let c = w.classify(g, day("2021-01-01")).await;
    assert_eq!(c.personal_deadline, Some(day("2025-04-10")));
    assert_eq!(c.fiscal_deadline, c.personal_deadline);
}

#[tokio::test]
async fn fiscal_deadline_is_unset_without_a_company_period() {
    let w = world().await;
    fx::policy(&w.c, w.head, "guest", "2 years").await;
    let g = company_guest(&w, false).await;
    let c = w.classify(g, day("2021-01-01")).await;
    assert_eq!(c.personal_deadline, Some(day("2022-04-10")));
    assert_eq!(c.fiscal_deadline, None);
}

#[tokio::test]
async fn non_company_guests_have_no_fiscal_deadline() {
    let w = world().await;
    fx::policy(&w.c, w.head, "guest", "2 years").await;
    fx::policy(&w.c, w.head, "company_guest", "10 years").await;
    let g = fx::guest(&w.c, w.head, day("2019-04-10")).await;
    fx::set_company(&w.c, g, " ").await;
    fx::sale(&w.c, g, day("2020-04-10")).await;
    let c = w.classify(g, day("2021-01-01")).await;
    assert_eq!(c.guest_type, GuestType::Guest);
    assert_eq!(c.fiscal_deadline, None);
}

// --- Blocked ----------------------------------------------------------------

#[tokio::test]
async fn unpaid_invoice_blocks_a_due_guest() {
    let w = world().await;
    fx::policy(&w.c, w.head, "guest", "2 years").await;
    fx::policy(&w.c, w.head, "company_guest", "10 years").await;
    let g = company_guest(&w, false).await;
    fx::invoice(&w.c, g, day("2020-03-01"), false).await;
    let c = w.classify(g, day("2021-01-01")).await;
    assert_eq!(c.blocked_reason.as_deref(), Some("unpaid_invoice"));
    w.assert_boundary(g, day("2022-04-10"), Status::Retained, Status::Blocked)
        .await;
}

#[tokio::test]
async fn paid_invoices_do_not_block() {
    let w = world().await;
    fx::policy(&w.c, w.head, "guest", "2 years").await;
    let g = company_guest(&w, false).await;
    let c = w.classify(g, day("2023-01-01")).await;
    assert_eq!(c.blocked_reason, None);
    assert_eq!(c.status, Status::Overdue);
}
