//! Four-eyes erasure: a request by one login, approved or rejected by
//! another; an approval anonymizes like the run and is blocked by what
//! blocks the run, a rejection changes no guest data, and the protocol tells
//! the story.

mod common;

use common::archive::{csv_of, field, unzip_file};
use common::{assert_anonymized, day, expect_code, fx, stderr, TestDb};
use tokio_postgres::Client;

/// Guest data that a rejected request must leave alone.
async fn guest_state(c: &Client, g: i64) -> String {
    c.query_one(
        "SELECT (SELECT to_jsonb(x) FROM guests x WHERE id = $1)::text
             || (SELECT coalesce(jsonb_agg(to_jsonb(r) ORDER BY r.id), '[]') FROM reservations r WHERE guest_id = $1)::text
             || (SELECT coalesce(jsonb_agg(to_jsonb(i) ORDER BY i.id), '[]') FROM invoices i WHERE guest_id = $1)::text",
        &[&g],
    )
    .await
    .unwrap()
    .get(0)
}

struct World {
    db: TestDb,
    c: Client,
    branch: i64,
    /// A second person's database login (requests are made by the first).
    reviewer: String,
}

async fn world() -> World {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let branch = fx::branch(&c, "Köln", None).await;
    fx::policy(&c, branch, "guest", "3 years").await;
    fx::policy(&c, branch, "company_guest", "10 years").await;
    let reviewer = db.login("reviewer").await;
    World {
        db,
        c,
        branch,
        reviewer,
    }
}

/// A recent guest (nowhere near its deadline) with a newsletter.
async fn recent_guest(w: &World) -> i64 {
    let g = fx::guest(&w.c, w.branch, day("2026-10-01")).await;
    fx::sale(&w.c, g, day("2026-10-01")).await;
    fx::newsletter(&w.c, g, day("2026-10-01"), None).await;
    fx::reservation(&w.c, g, day("2026-10-01"), day("2026-10-05"), false).await;
    g
}

/// `erasure approve --request ID --actor ACTOR`: alice as the login that
/// requests, anybody else as the reviewer's login.
fn approve(w: &World, id: i64, actor: &str) -> std::process::Output {
    let id = id.to_string();
    let args = ["erasure", "approve", "--request", &id, "--actor", actor];
    if actor == "alice" {
        w.db.cli(&args)
    } else {
        w.db.cli_as(&w.reviewer, &args)
    }
}

fn request(w: &World, g: i64, actor: &str) -> i64 {
    let out = w.db.cli(&[
        "erasure",
        "request",
        "--guest",
        &g.to_string(),
        "--reason",
        "E-Mail vom 20.11.",
        "--actor",
        actor,
    ]);
    let text = expect_code(&out, 0);
    text.split_whitespace()
        .nth(2)
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("request id in {text:?}"))
}

async fn actions(c: &Client, g: i64) -> Vec<(String, String)> {
    c.query(
        "SELECT action, actor FROM retention.action_protocol WHERE guest_id = $1 ORDER BY id",
        &[&g],
    )
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1)))
    .collect()
}

#[tokio::test]
async fn four_eyes_erasure_anonymizes_like_the_run_and_the_protocol_tells_the_story() {
    let w = world().await;
    let g = recent_guest(&w).await;
    let id = request(&w, g, "alice");
    // the newsletter ends at once
    let ended: bool =
        w.c.query_one(
            "SELECT unsubscribed_at IS NOT NULL FROM newsletter_subscriptions WHERE guest_id = $1",
            &[&g],
        )
        .await
        .unwrap()
        .get(0);
    assert!(ended);
    // the requester cannot approve
    let out = approve(&w, id, "alice");
    expect_code(&out, 2);
    assert!(stderr(&out).contains("four-eyes"), "{}", stderr(&out));
    let anonymized: bool =
        w.c.query_one(
            "SELECT anonymized_at IS NOT NULL FROM guests WHERE id = $1",
            &[&g],
        )
        .await
        .unwrap()
        .get(0);
    assert!(!anonymized);

    let out = approve(&w, id, "bob");
    expect_code(&out, 0);
    // exactly what a run does
    assert_anonymized(&w.c, g).await;
    let r =
        w.c.query_one(
            "SELECT (SELECT notes FROM reservations WHERE guest_id = $1),
                    (SELECT email FROM newsletter_subscriptions WHERE guest_id = $1)",
            &[&g],
        )
        .await
        .unwrap();
    assert_eq!(r.get::<_, Option<String>>(0), None, "reservation notes");
    assert_eq!(r.get::<_, Option<String>>(1), None, "newsletter e-mail");

    assert_eq!(
        actions(&w.c, g).await,
        [
            ("erasure_requested".to_string(), "alice".to_string()),
            ("newsletter_unsubscribed".into(), "alice".into()),
            ("guest_anonymized".into(), "bob".into()),
            ("erasure_approved".into(), "bob".into()),
        ]
    );
    let details: serde_json::Value = w
        .c
        .query_one(
            "SELECT details FROM retention.action_protocol WHERE action = 'erasure_approved' AND guest_id = $1",
            &[&g],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(details["requested_by"], "alice");
    assert_eq!(details["approved_by"], "bob");
    assert_eq!(details["request_id"], id);
    let listed = expect_code(&w.db.cli(&["erasure", "list"]), 0);
    assert!(listed.contains("no open erasure requests"), "{listed}");
    // a second request for an anonymized guest is refused
    let out = w.db.cli(&[
        "erasure",
        "request",
        "--guest",
        &g.to_string(),
        "--reason",
        "x",
        "--actor",
        "carol",
    ]);
    expect_code(&out, 2);
}

#[tokio::test]
async fn blockers_refuse_approval_and_are_named() {
    let w = world().await;
    let g = recent_guest(&w).await;
    fx::invoice(&w.c, g, day("2026-10-01"), false).await;
    fx::reservation(&w.c, g, day("2026-11-01"), day("2099-01-01"), false).await;
    let id = request(&w, g, "alice");
    let listed = expect_code(&w.db.cli(&["erasure", "list"]), 0);
    assert!(
        listed.contains("1 unpaid invoice(s)") && listed.contains("still to come"),
        "{listed}"
    );
    let before = guest_state(&w.c, g).await;
    let out = approve(&w, id, "bob");
    expect_code(&out, 1);
    let err = stderr(&out);
    assert!(err.contains("1 unpaid invoice(s)"), "{err}");
    assert!(
        err.contains("1 reservation(s) still to come (next 2099-01-01"),
        "{err}"
    );
    assert_eq!(guest_state(&w.c, g).await, before);
    let status: String =
        w.c.query_one(
            "SELECT status FROM retention.erasure_requests WHERE id = $1",
            &[&id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(status, "open");
}

#[tokio::test]
async fn a_rejected_request_changes_no_guest_data() {
    let w = world().await;
    let g = recent_guest(&w).await;
    let id = request(&w, g, "alice");
    let before = guest_state(&w.c, g).await;
    let out = w.db.cli_as(
        &w.reviewer,
        &[
            "erasure",
            "reject",
            "--request",
            &id.to_string(),
            "--reason",
            "Rückfrage: nur Newsletter",
            "--actor",
            "bob",
        ],
    );
    expect_code(&out, 0);
    assert_eq!(guest_state(&w.c, g).await, before);
    let last = actions(&w.c, g).await.pop().unwrap();
    assert_eq!(last, ("erasure_rejected".to_string(), "bob".to_string()));
    // decided requests cannot be decided again
    let out = approve(&w, id, "carol");
    expect_code(&out, 2);
    assert!(stderr(&out).contains("rejected already"));
    let all = expect_code(
        &w.db.cli(&["erasure", "list", "--all", "--format", "json"]),
        0,
    );
    let all: serde_json::Value = serde_json::from_str(&all).unwrap();
    assert_eq!(all[0]["status"], "rejected");
    assert_eq!(all[0]["decided_by"], "bob");
}

#[tokio::test]
async fn an_approved_company_guest_keeps_fiscal_data_until_its_fiscal_deadline() {
    let w = world().await;
    let g = recent_guest(&w).await;
    fx::set_company(&w.c, g, "ACME GmbH").await;
    let inv = fx::invoice(&w.c, g, day("2026-10-01"), true).await;
    let id = request(&w, g, "alice");
    let out = approve(&w, id, "bob");
    let text = expect_code(&out, 0);
    assert!(text.contains("stays until its fiscal deadline"), "{text}");
    let r =
        w.c.query_one(
            "SELECT first_name, company, vat_id, fiscal_erased_at IS NULL,
                    (SELECT pdf IS NOT NULL FROM invoices WHERE id = $2)
             FROM guests WHERE id = $1",
            &[&g, &inv],
        )
        .await
        .unwrap();
    assert_eq!(r.get::<_, Option<String>>(0), None);
    assert_eq!(r.get::<_, Option<String>>(1).as_deref(), Some("ACME GmbH"));
    assert_eq!(
        r.get::<_, Option<String>>(2).as_deref(),
        Some("DE123456789")
    );
    assert!(r.get::<_, bool>(3) && r.get::<_, bool>(4));
}

#[tokio::test]
async fn an_anonymized_guest_exports_what_is_left() {
    let w = world().await;
    let g = recent_guest(&w).await;
    let id = request(&w, g, "alice");
    expect_code(&approve(&w, id, "bob"), 0);
    let dir = tempfile::tempdir().unwrap();
    let zip = dir.path().join("left.zip");
    expect_code(
        &w.db.cli(&[
            "export",
            "--guest",
            &g.to_string(),
            "--out",
            zip.to_str().unwrap(),
        ]),
        0,
    );
    let (h, rows) = csv_of(&zip, "guest.csv");
    assert_eq!(field(&h, &rows[0], "last_name"), "DSGVO");
    assert_eq!(field(&h, &rows[0], "first_name"), "");
    assert_eq!(field(&h, &rows[0], "city"), "Köln");
    let (h, rows) = csv_of(&zip, "protocol.csv");
    let acts: Vec<String> = rows.iter().map(|r| field(&h, r, "action")).collect();
    assert!(acts.contains(&"guest_anonymized".to_string()), "{acts:?}");
    assert!(!String::from_utf8_lossy(&unzip_file(&zip, "guest.csv")).contains("Erika"));
}
