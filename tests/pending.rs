//! The pending report (Löschhinweise): counts by branch, type and status,
//! the window, blockers, unconfigured types and the guests behind the counts.

mod common;

use common::{day, expect_code, fx, TestDb};
use serde_json::Value;

struct Fixture {
    db: TestDb,
    c: tokio_postgres::Client,
    head: i64,
    branch: i64,
    overdue: i64,
    due_soon: i64,
    blocked: i64,
}

/// Report instant: 2026-06-01. Guests of the head office with a 1-year
/// guest_without_sale period:
/// - overdue: last activity 2025-01-01 (newsletter ended, so it counts no unsubscription)
/// - due soon: last activity 2025-06-05 (due 2026-06-05)
/// - retained: last activity 2025-09-01
/// - blocked: overdue company guest with an unpaid invoice (guest period 1 year)
///
/// The branch inherits everything; one overdue newsletter subscriber there.
async fn fixture() -> Fixture {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let head = fx::branch(&c, "Zentrale", None).await;
    let branch = fx::branch(&c, "Filiale", Some(head)).await;
    fx::policy(&c, head, "guest_without_sale", "1 year").await;
    fx::policy(&c, head, "guest", "1 year").await;
    fx::policy(&c, head, "newsletter_subscriber", "6 months").await;
    let overdue = fx::guest(&c, head, day("2025-01-01")).await;
    let due_soon = fx::guest(&c, head, day("2025-06-05")).await;
    fx::guest(&c, head, day("2025-09-01")).await;
    let blocked = fx::guest(&c, head, day("2024-01-01")).await;
    fx::set_company(&c, blocked, "ACME GmbH").await;
    fx::sale(&c, blocked, day("2024-02-01")).await;
    fx::invoice(&c, blocked, day("2024-02-01"), false).await;
    let subscriber = fx::guest(&c, branch, day("2025-01-01")).await;
    fx::newsletter(&c, subscriber, day("2025-01-01"), None).await;
    Fixture {
        db,
        c,
        head,
        branch,
        overdue,
        due_soon,
        blocked,
    }
}

fn count(branch: &Value, action: &str, guest_type: &str, status: &str) -> i64 {
    branch["counts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] == action && c["guest_type"] == guest_type && c["status"] == status)
        .map(|c| c["guests"].as_i64().unwrap())
        .sum()
}

fn branch(report: &Value, id: i64) -> Value {
    report["branches"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["branch_id"] == id)
        .unwrap()
        .clone()
}

fn pending(f: &Fixture, extra: &[&str]) -> Value {
    pending_at(f, "2026-06-01T12:00:00Z", extra)
}

fn pending_at(f: &Fixture, at: &str, extra: &[&str]) -> Value {
    let mut args = vec!["pending", "--at", at, "--format", "json"];
    args.extend_from_slice(extra);
    serde_json::from_str(&expect_code(&f.db.cli(&args), 0)).unwrap()
}

#[tokio::test]
async fn counts_overdue_due_soon_blocked_and_not_configured_per_branch() {
    let f = fixture().await;
    let r = pending(&f, &[]);
    let head = branch(&r, f.head);
    assert_eq!(
        count(&head, "anonymize", "guest_without_sale", "overdue"),
        1
    );
    assert_eq!(
        count(&head, "anonymize", "guest_without_sale", "due_soon"),
        1
    );
    assert_eq!(count(&head, "anonymize", "company_guest", "blocked"), 1);
    let blocked = head["counts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["status"] == "blocked")
        .unwrap()
        .clone();
    assert_eq!(blocked["reason"], "unpaid_invoice");
    // company_guest period is not configured: the fiscal erasure never happens
    assert_eq!(
        count(&head, "erase_fiscal", "company_guest", "not_configured"),
        1
    );
    let missing: Vec<&str> = head["not_configured_types"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert_eq!(missing, vec!["regular_guest", "company_guest"]);
    let filiale = branch(&r, f.branch);
    assert_eq!(
        count(&filiale, "anonymize", "newsletter_subscriber", "overdue"),
        1
    );
    assert_eq!(filiale["newsletter_unsubscriptions"], 1);
    assert_eq!(head["newsletter_unsubscriptions"], 0);
}

#[tokio::test]
async fn window_decides_what_is_due_soon() {
    let f = fixture().await;
    let short = pending(&f, &["--within", "2d"]);
    assert_eq!(
        count(
            &branch(&short, f.head),
            "anonymize",
            "guest_without_sale",
            "due_soon"
        ),
        0
    );
    let long = pending(&f, &["--within", "120d"]);
    assert_eq!(
        count(
            &branch(&long, f.head),
            "anonymize",
            "guest_without_sale",
            "due_soon"
        ),
        2
    );
}

#[tokio::test]
async fn per_day_counts_cover_the_window() {
    let f = fixture().await;
    let r = pending(&f, &[]);
    let days = branch(&r, f.head)["days"].clone();
    assert_eq!(
        days,
        serde_json::json!([{"day": "2026-06-05", "action": "anonymize", "guests": 1}])
    );
}

#[tokio::test]
async fn guests_option_lists_ids_and_deadlines_only() {
    let f = fixture().await;
    let r = pending(&f, &["--guests", "--branch", &f.head.to_string()]);
    let guests = r["guests"].as_array().unwrap();
    let ids: Vec<i64> = guests
        .iter()
        .map(|g| g["guest_id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![f.blocked, f.overdue, f.due_soon]);
    let text = serde_json::to_string(&r).unwrap();
    for personal in [
        "Erika",
        "Mustermann",
        "erika@example.com",
        "1234567",
        "Heidestraße",
    ] {
        assert!(!text.contains(personal), "{personal} in report");
    }
    assert_eq!(guests[2]["deadline"], "2026-06-05T12:00:00Z");
    assert_eq!(r["branches"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn preview_at_another_instant_changes_nothing() {
    let f = fixture().await;
    let before = fx::count(&f.c, "SELECT count(*) FROM retention.action_protocol").await;
    let later = pending_at(&f, "2030-01-01", &[]);
    assert_eq!(
        count(
            &branch(&later, f.head),
            "anonymize",
            "guest_without_sale",
            "overdue"
        ),
        3
    );
    let after = fx::count(&f.c, "SELECT count(*) FROM retention.action_protocol").await;
    let anonymized = fx::count(
        &f.c,
        "SELECT count(*) FROM guests WHERE anonymized_at IS NOT NULL",
    )
    .await;
    assert_eq!((before, after, anonymized), (0, 0, 0));
}

#[tokio::test]
async fn table_form_names_the_manual_run_when_automatic_deletion_is_off() {
    let f = fixture().await;
    let out = f.db.cli(&["pending", "--at", "2026-06-01"]);
    let text = expect_code(&out, 0);
    assert!(
        text.contains(&format!("retentiond run --branch {}", f.head)),
        "{text}"
    );
    assert!(
        text.contains("no period configured for regular_guest, company_guest"),
        "{text}"
    );
}

#[tokio::test]
async fn unknown_branch_is_a_clear_error() {
    let f = fixture().await;
    let out = f.db.cli(&["pending", "--branch", "999"]);
    expect_code(&out, 2);
    assert!(common::stderr(&out).contains("branch 999 does not exist"));
}
