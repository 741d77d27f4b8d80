//! The Rules of the design, sentence by sentence, on both sides of each
//! boundary. Every guest is classified through the one SQL definition the
//! pending report and the run use as well.

mod common;

use chrono::{DateTime, Duration, Utc};
use common::{day, fx, TestDb};
use retentiond::retention::classify::{classify_guest, Classification, Status};
use retentiond::retention::GuestType;

const D: fn(i64) -> Duration = Duration::days;

struct World {
    db: TestDb,
    c: tokio_postgres::Client,
    pool: retentiond::db::DbPool,
    head: i64,
}

async fn world() -> World {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let head = fx::branch(&c, "Zentrale", None).await;
    let pool = db.pool();
    World { db, c, pool, head }
}

impl World {
    async fn classify(&self, guest: i64, at: DateTime<Utc>) -> Classification {
        let client = self.pool.get().await.unwrap();
        classify_guest(&client, guest, at).await.unwrap()
    }

    /// Asserts the status one day before and one day after `deadline`.
    async fn assert_boundary(
        &self,
        guest: i64,
        deadline: DateTime<Utc>,
        before: Status,
        after: Status,
    ) {
        assert_eq!(
            self.classify(guest, deadline - D(1)).await.status,
            before,
            "one day before {deadline}"
        );
        assert_eq!(
            self.classify(guest, deadline + D(1)).await.status,
            after,
            "one day after {deadline}"
        );
    }
}

// --- Type, first match wins -------------------------------------------------

/// (case, has a sale, company, verified, newsletter: None or Some(active), expected)
type TypeCase = (
    &'static str,
    bool,
    Option<&'static str>,
    bool,
    Option<bool>,
    GuestType,
);

#[tokio::test]
async fn guest_type_follows_the_precedence_table() {
    let w = world().await;
    let t0 = day("2020-03-01");
    let cases: &[TypeCase] = &[
        (
            "sale and company",
            true,
            Some("ACME GmbH"),
            false,
            None,
            GuestType::CompanyGuest,
        ),
        (
            "verified company guest stays company",
            true,
            Some("ACME GmbH"),
            true,
            Some(true),
            GuestType::CompanyGuest,
        ),
        (
            "verified without sale",
            false,
            None,
            true,
            Some(true),
            GuestType::RegularGuest,
        ),
        (
            "verified with sale, no company",
            true,
            None,
            true,
            None,
            GuestType::RegularGuest,
        ),
        (
            "company without sale is no company guest",
            false,
            Some("ACME GmbH"),
            false,
            None,
            GuestType::GuestWithoutSale,
        ),
        (
            "sale, blank company",
            true,
            Some("   "),
            false,
            None,
            GuestType::Guest,
        ),
        (
            "sale, empty company",
            true,
            Some(""),
            false,
            None,
            GuestType::Guest,
        ),
        (
            "sale and newsletter",
            true,
            None,
            false,
            Some(true),
            GuestType::Guest,
        ),
        (
            "active newsletter only",
            false,
            None,
            false,
            Some(true),
            GuestType::NewsletterSubscriber,
        ),
        (
            "ended newsletter only",
            false,
            None,
            false,
            Some(false),
            GuestType::GuestWithoutSale,
        ),
        (
            "nothing at all",
            false,
            None,
            false,
            None,
            GuestType::GuestWithoutSale,
        ),
    ];
    for (name, sale, company, verified, newsletter, expected) in cases {
        let g = fx::guest(&w.c, w.head, t0).await;
        if *sale {
            fx::sale(&w.c, g, t0 + D(1)).await;
        }
        if let Some(company) = company {
            fx::set_company(&w.c, g, company).await;
        }
        if *verified {
            fx::set_verified(&w.c, g).await;
        }
        if let Some(active) = newsletter {
            fx::newsletter(&w.c, g, t0, (!active).then_some(t0 + D(2))).await;
        }
        let got = w.classify(g, t0).await.guest_type;
        assert_eq!(got, *expected, "{name}");
    }
}

// --- Last activity -----------------------------------------------------------

#[tokio::test]
async fn last_activity_is_the_latest_of_every_source() {
    let w = world().await;
    let t0 = day("2020-03-01");
    let later = t0 + D(100);
    let cases = [
        "created",
        "profile edit",
        "sale",
        "reservation booked",
        "newsletter sign-up",
    ];
    for source in cases {
        let g = fx::guest(&w.c, w.head, t0).await;
        // every source but the one under test happens before `later`
        fx::sale(&w.c, g, t0 + D(1)).await;
        match source {
            "created" => {
                w.c.execute(
                    "UPDATE guests SET created_at = $2 WHERE id = $1",
                    &[&g, &later],
                )
                .await
                .unwrap();
            }
            "profile edit" => fx::set_profile_updated(&w.c, g, later).await,
            "sale" => {
                fx::sale(&w.c, g, later).await;
            }
            "reservation booked" => {
                fx::reservation(&w.c, g, later, later + D(3), true).await;
            }
            "newsletter sign-up" => fx::newsletter(&w.c, g, later, None).await,
            _ => unreachable!(),
        }
        assert_eq!(w.classify(g, later).await.last_activity, later, "{source}");
    }
}

#[tokio::test]
async fn missing_sources_are_ignored() {
    let w = world().await;
    let t0 = day("2020-03-01");
    let g = fx::guest(&w.c, w.head, t0).await;
    assert_eq!(w.classify(g, t0).await.last_activity, t0);
}

// --- Personal deadline ---------------------------------------------------------

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

// --- Company guests ------------------------------------------------------------

async fn company_guest(w: &World, verified: bool) -> i64 {
    let g = fx::guest(&w.c, w.head, day("2019-04-10")).await;
    fx::set_company(&w.c, g, "ACME GmbH").await;
    if verified {
        fx::set_verified(&w.c, g).await;
    }
    fx::sale(&w.c, g, day("2020-04-10")).await;
    fx::invoice(&w.c, g, day("2020-05-10"), true).await;
    g
}

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

// --- No defaults, inheritance ------------------------------------------------

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

// --- Blocked -------------------------------------------------------------------

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

#[tokio::test]
async fn unknown_guest_is_a_clear_error() {
    let w = world().await;
    let out = w.db.cli(&["classify", "--guest", "999999"]);
    common::expect_code(&out, 2);
    assert!(common::stderr(&out).contains("guest 999999 does not exist"));
}

#[tokio::test]
async fn classify_json_has_the_documented_shape() {
    let w = world().await;
    fx::policy(&w.c, w.head, "guest", "2 years").await;
    fx::policy(&w.c, w.head, "company_guest", "10 years").await;
    let g = company_guest(&w, false).await;
    let out = w.db.cli(&[
        "classify",
        "--guest",
        &g.to_string(),
        "--format",
        "json",
        "--at",
        "2021-01-01",
    ]);
    let v: serde_json::Value = serde_json::from_str(&common::expect_code(&out, 0)).unwrap();
    assert_eq!(v["guest_id"], g);
    assert_eq!(v["branch_id"], w.head);
    assert_eq!(v["guest_type"], "company_guest");
    assert_eq!(v["last_activity"], "2020-04-10T12:00:00Z");
    assert_eq!(v["personal_deadline"], "2022-04-10T12:00:00Z");
    assert_eq!(v["fiscal_deadline"], "2030-05-10T12:00:00Z");
    assert_eq!(v["blocked_reason"], serde_json::Value::Null);
    assert_eq!(v["status"], "retained");
}
