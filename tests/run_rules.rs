//! The rules of "Anonymize personal data" and "Fiscal erasure" as a run
//! applies them: exactly which data goes and what stays, a company guest's
//! fiscal data until its own deadline, and the guests a run must leave alone.

mod common;

use chrono::{DateTime, Utc};
use common::run::{old_guest, one, protocol_count, run_at, world};
use common::{assert_anonymized, assert_untouched, day, fx};
use retentiond::model::{Action, GuestType, RunStatus};

#[tokio::test]
async fn anonymizes_personal_data_exactly_as_the_rules_say() {
    let w = world().await;
    let g = old_guest(&w).await;
    let res = fx::reservation(&w.c, g, day("2020-01-01"), day("2020-01-10"), false).await;
    fx::newsletter(&w.c, g, day("2019-06-01"), None).await;
    let inv = fx::invoice(&w.c, g, day("2020-01-01"), true).await;
    w.c.execute(
        "INSERT INTO customer_cards (guest_id, card_number) VALUES ($1, 'C-1')",
        &[&g],
    )
    .await
    .unwrap();
    // a blank company is no company: its fields go with the personal data
    fx::set_company(&w.c, g, "  ").await;

    let at = day("2026-11-25");
    let report = run_at(&w.db, &[w.branch], at).await;
    assert_eq!(report.status, RunStatus::Completed);
    assert_eq!(report.total(Action::GuestAnonymized), 1);
    assert_eq!(report.total(Action::NewsletterUnsubscribed), 1);

    assert_anonymized(&w.c, g).await;
    let r =
        w.c.query_one(
            "SELECT company, vat_id, economic_id FROM guests WHERE id = $1",
            &[&g],
        )
        .await
        .unwrap();
    assert_eq!(
        (
            r.get::<_, Option<String>>(0),
            r.get::<_, Option<String>>(1),
            r.get::<_, Option<String>>(2)
        ),
        (None, None, None)
    );
    let r =
        w.c.query_one(
            "SELECT notes, reserved_for, party_size FROM reservations WHERE id = $1",
            &[&res],
        )
        .await
        .unwrap();
    assert_eq!(r.get::<_, Option<String>>(0), None, "reservation notes go");
    assert_eq!(
        r.get::<_, DateTime<Utc>>(1),
        day("2020-01-10"),
        "dates stay"
    );
    assert_eq!(r.get::<_, i32>(2), 4, "party size stays");
    let r =
        w.c.query_one(
            "SELECT email, unsubscribed_at FROM newsletter_subscriptions WHERE guest_id = $1",
            &[&g],
        )
        .await
        .unwrap();
    assert_eq!(r.get::<_, Option<String>>(0), None);
    assert!(written_now(r.get(1)), "unsubscribed when the run wrote it");
    let pdf: Option<Vec<u8>> = one(&w.c, "SELECT pdf FROM invoices WHERE id = $1", inv).await;
    assert_eq!(pdf, None, "invoice PDF of a non-company guest goes");
    let valid: bool = one(
        &w.c,
        "SELECT valid FROM customer_cards WHERE guest_id = $1",
        g,
    )
    .await;
    assert!(valid, "customer cards remain valid");
    let sales: i64 = one(&w.c, "SELECT count(*) FROM sales WHERE guest_id = $1", g).await;
    assert_eq!(sales, 1, "sales stay");

    // protocol: one row per action, with type and run, no personal data
    let rows =
        w.c.query(
            "SELECT action, guest_type, run_id, actor, branch_id, details::text
             FROM retention.action_protocol WHERE guest_id = $1 ORDER BY action",
            &[&g],
        )
        .await
        .unwrap();
    let actions: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(actions, ["guest_anonymized", "newsletter_unsubscribed"]);
    for r in &rows {
        assert_eq!(r.get::<_, Option<String>>(1).as_deref(), Some("guest"));
        assert_eq!(r.get::<_, Option<i64>>(2), Some(report.run_id));
        assert_eq!(r.get::<_, String>(3), "alice");
        assert_eq!(r.get::<_, Option<i64>>(4), Some(w.branch));
    }
    let all: String = w
        .c
        .query_one(
            "SELECT string_agg(details::text || actor || action, ' ') FROM retention.action_protocol",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    for personal in [
        "Erika",
        "Mustermann",
        "example.com",
        "Heidestraße",
        "1234567",
        "Nüsse",
    ] {
        assert!(!all.contains(personal), "protocol holds {personal:?}");
    }
    // the run is recorded with its counts
    let r =
        w.c.query_one(
            "SELECT kind, actor, status, counts, remaining, finished_at IS NOT NULL
             FROM retention.runs WHERE id = $1",
            &[&report.run_id],
        )
        .await
        .unwrap();
    assert_eq!(r.get::<_, String>(0), "manual");
    assert_eq!(r.get::<_, String>(1), "alice");
    assert_eq!(r.get::<_, String>(2), "completed");
    assert_eq!(
        r.get::<_, serde_json::Value>(3)["guest_anonymized"]["guest"],
        1
    );
    assert_eq!(r.get::<_, i64>(4), 0);
    assert!(r.get::<_, bool>(5));
    for action in ["run_started", "run_finished"] {
        let n: i64 =
            w.c.query_one(
                "SELECT count(*) FROM retention.action_protocol WHERE action = $1 AND run_id = $2",
                &[&action, &report.run_id],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(n, 1, "{action}");
    }
}

#[tokio::test]
async fn company_guest_keeps_fiscal_data_until_its_fiscal_deadline() {
    let w = world().await;
    let g = old_guest(&w).await;
    fx::set_company(&w.c, g, "ACME GmbH").await;
    let inv = fx::invoice(&w.c, g, day("2020-01-01"), true).await;

    // personal deadline 2023-01-01 passed: personal data goes, fiscal data stays
    let report = run_at(&w.db, &[w.branch], day("2026-11-25")).await;
    assert_eq!(
        report.counts[&Action::GuestAnonymized][&GuestType::CompanyGuest],
        1
    );
    assert_anonymized(&w.c, g).await;
    let r = w
        .c
        .query_one(
            "SELECT company, vat_id, economic_id, fiscal_erased_at IS NULL FROM guests WHERE id = $1",
            &[&g],
        )
        .await
        .unwrap();
    assert_eq!(r.get::<_, Option<String>>(0).as_deref(), Some("ACME GmbH"));
    assert_eq!(
        r.get::<_, Option<String>>(1).as_deref(),
        Some("DE123456789")
    );
    assert_eq!(
        r.get::<_, Option<String>>(2).as_deref(),
        Some("DE123456789-00001")
    );
    assert!(r.get::<_, bool>(3));
    let pdf: Option<Vec<u8>> = one(&w.c, "SELECT pdf FROM invoices WHERE id = $1", inv).await;
    assert!(pdf.is_some(), "a company guest's invoice PDFs stay");

    // one day before the fiscal deadline (2030-01-01 12:00): nothing more
    let report = run_at(&w.db, &[w.branch], day("2029-12-31")).await;
    assert_eq!(report.total(Action::FiscalDataErased), 0);
    assert_eq!(
        report.total(Action::GuestAnonymized),
        0,
        "anonymized only once"
    );

    // one day after: fiscal erasure
    let at = day("2030-01-02");
    let report = run_at(&w.db, &[w.branch], at).await;
    assert_eq!(
        report.counts[&Action::FiscalDataErased][&GuestType::CompanyGuest],
        1
    );
    let r =
        w.c.query_one(
            "SELECT company, vat_id, economic_id, fiscal_erased_at FROM guests WHERE id = $1",
            &[&g],
        )
        .await
        .unwrap();
    assert_eq!(r.get::<_, Option<String>>(0), None);
    assert_eq!(r.get::<_, Option<String>>(1), None);
    assert_eq!(r.get::<_, Option<String>>(2), None);
    assert!(written_now(r.get(3)), "erased when the run wrote it");
    let pdf: Option<Vec<u8>> = one(&w.c, "SELECT pdf FROM invoices WHERE id = $1", inv).await;
    assert_eq!(pdf, None);
    assert_eq!(protocol_count(&w.c, "guest_anonymized", g).await, 1);
    assert_eq!(protocol_count(&w.c, "fiscal_data_erased", g).await, 1);
}

#[tokio::test]
async fn both_deadlines_passed_means_both_actions_in_one_batch() {
    let w = world().await;
    let g = old_guest(&w).await;
    fx::set_company(&w.c, g, "ACME GmbH").await;
    let report = run_at(&w.db, &[w.branch], day("2031-01-01")).await;
    assert_eq!(report.total(Action::GuestAnonymized), 1);
    assert_eq!(report.total(Action::FiscalDataErased), 1);
    let company: Option<String> = one(&w.c, "SELECT company FROM guests WHERE id = $1", g).await;
    assert_eq!(company, None);
}

#[tokio::test]
async fn retained_blocked_and_unconfigured_guests_are_untouched() {
    let w = world().await;
    // deadline 2023-01-03 12:00, one day after the run
    let recent = fx::guest(&w.c, w.branch, day("2020-01-03")).await;
    fx::sale(&w.c, recent, day("2020-01-03")).await;
    // overdue but an unpaid invoice blocks
    let blocked = old_guest(&w).await;
    fx::invoice(&w.c, blocked, day("2020-01-01"), false).await;
    // newsletter subscribers have no period here: never anonymized
    let subscriber = fx::guest(&w.c, w.branch, day("2010-01-01")).await;
    fx::newsletter(&w.c, subscriber, day("2010-01-01"), None).await;
    // a future reservation keeps an overdue guest
    let booked = old_guest(&w).await;
    fx::reservation(&w.c, booked, day("2020-01-01"), day("2027-02-01"), false).await;
    // deadline 2023-01-01 12:00, one day before the run
    let due = fx::guest(&w.c, w.branch, day("2020-01-01")).await;
    fx::sale(&w.c, due, day("2020-01-01")).await;

    let report = run_at(&w.db, &[w.branch], day("2023-01-02")).await;
    assert_eq!(report.total(Action::GuestAnonymized), 1);
    assert_anonymized(&w.c, due).await;
    for g in [recent, blocked, subscriber, booked] {
        assert_untouched(&w.c, g).await;
    }
}

/// A time the database set in the last minutes (the API writes the
/// database's own time, never the caller's).
fn written_now(at: Option<DateTime<Utc>>) -> bool {
    at.is_some_and(|t| (Utc::now() - t).num_minutes().abs() < 10)
}
