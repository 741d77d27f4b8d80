//! Data subject requests: the export ZIP and four-eyes erasure.

mod common;

use std::path::Path;
use std::process::Command;

use common::{assert_anonymized, day, expect_code, fx, stderr, TestDb};
use retentiond::retention::export::WITHHELD;
use tokio_postgres::Client;

const TRICKY_NAME: &str = "Jörg, \"der Koch\"";
const SECRET_NOTE: &str = "Farbrezeptur 7/1 + 3% Oxidant\nzweite Zeile; Ärger";
const RESERVATION_NOTE: &str = "Tisch am Fenster, \"ruhig\"\r\nbitte";

async fn tricky_guest(c: &Client, branch: i64) -> i64 {
    let g = fx::guest(c, branch, day("2024-01-01")).await;
    c.execute(
        "UPDATE guests SET first_name = $2, notes = $3, company = 'Müller & Söhne, KG' WHERE id = $1",
        &[&g, &TRICKY_NAME, &SECRET_NOTE],
    )
    .await
    .unwrap();
    fx::sale(c, g, day("2024-01-01")).await;
    let r = fx::reservation(c, g, day("2024-01-01"), day("2024-02-01"), false).await;
    c.execute(
        "UPDATE reservations SET notes = $2 WHERE id = $1",
        &[&r, &RESERVATION_NOTE],
    )
    .await
    .unwrap();
    fx::newsletter(c, g, day("2024-01-01"), None).await;
    fx::invoice(c, g, day("2024-01-01"), true).await;
    c.execute(
        "INSERT INTO customer_cards (guest_id, card_number) VALUES ($1, 'K-0815')",
        &[&g],
    )
    .await
    .unwrap();
    g
}

fn unzip_list(zip: &Path) -> Vec<String> {
    let out = Command::new("unzip").arg("-Z1").arg(zip).output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

fn unzip_file(zip: &Path, name: &str) -> Vec<u8> {
    let out = Command::new("unzip")
        .arg("-p")
        .arg(zip)
        .arg(name)
        .output()
        .unwrap();
    assert!(out.status.success(), "{name}");
    out.stdout
}

/// Parses one CSV of the export: BOM, header, records.
fn csv_of(zip: &Path, name: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let bytes = unzip_file(zip, name);
    assert!(
        bytes.starts_with("\u{feff}".as_bytes()),
        "{name} starts with a BOM"
    );
    let text = String::from_utf8(bytes[3..].to_vec()).expect("UTF-8");
    assert!(text.ends_with("\r\n"), "{name}: CRLF line ends (RFC 4180)");
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    let rows = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect();
    (header, rows)
}

fn field(header: &[String], row: &[String], name: &str) -> String {
    let i = header
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name}"));
    row[i].clone()
}

#[tokio::test]
async fn export_is_a_zip_of_csvs_that_round_trip_and_withhold_trade_secrets() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let b = fx::branch(&c, "Köln", None).await;
    let g = tricky_guest(&c, b).await;
    let dir = tempfile::tempdir().unwrap();
    let zip = dir.path().join("guest.zip");
    let out = db.cli_env(
        &[
            "export",
            "--guest",
            &g.to_string(),
            "--out",
            zip.to_str().unwrap(),
            "--actor",
            "alice",
        ],
        &[(
            "RETENTIOND__GDPR__TRADE_SECRETS",
            "guest.notes, reservations.notes",
        )],
    );
    expect_code(&out, 0);

    let test = Command::new("unzip").arg("-tq").arg(&zip).output().unwrap();
    assert!(
        test.status.success(),
        "{}",
        String::from_utf8_lossy(&test.stdout)
    );
    let invoice: i64 = c
        .query_one("SELECT id FROM invoices WHERE guest_id = $1", &[&g])
        .await
        .unwrap()
        .get(0);
    let mut files = unzip_list(&zip);
    files.sort();
    let mut expected = vec![
        "README.txt".to_string(),
        "customer_cards.csv".into(),
        "guest.csv".into(),
        format!("invoices/{invoice}.pdf"),
        "invoices.csv".into(),
        "newsletter.csv".into(),
        "protocol.csv".into(),
        "reservations.csv".into(),
        "sales.csv".into(),
    ];
    expected.sort();
    assert_eq!(files, expected);

    let (h, rows) = csv_of(&zip, "guest.csv");
    assert_eq!(rows.len(), 1);
    assert_eq!(field(&h, &rows[0], "id"), g.to_string());
    assert_eq!(field(&h, &rows[0], "first_name"), TRICKY_NAME);
    assert_eq!(field(&h, &rows[0], "last_name"), "Mustermann");
    assert_eq!(field(&h, &rows[0], "street"), "Heidestraße 17");
    assert_eq!(field(&h, &rows[0], "company"), "Müller & Söhne, KG");
    assert_eq!(
        field(&h, &rows[0], "notes"),
        WITHHELD,
        "column present, content withheld"
    );
    let (h, rows) = csv_of(&zip, "reservations.csv");
    assert_eq!(field(&h, &rows[0], "notes"), WITHHELD);
    assert_eq!(field(&h, &rows[0], "party_size"), "4");
    let (h, rows) = csv_of(&zip, "newsletter.csv");
    assert_eq!(field(&h, &rows[0], "email"), "erika@example.com");
    let (h, rows) = csv_of(&zip, "invoices.csv");
    assert_eq!(
        field(&h, &rows[0], "pdf"),
        format!("invoices/{invoice}.pdf")
    );
    assert_eq!(
        unzip_file(&zip, &format!("invoices/{invoice}.pdf")),
        b"%PDF"
    );
    let (h, rows) = csv_of(&zip, "customer_cards.csv");
    assert_eq!(field(&h, &rows[0], "card_number"), "K-0815");
    assert_eq!(csv_of(&zip, "sales.csv").1.len(), 1);
    let readme = String::from_utf8(unzip_file(&zip, "README.txt")).unwrap();
    assert!(readme.contains("Betriebsgeheimnis") && readme.contains("trade secret"));

    // the secret content is nowhere in the archive
    for name in &files {
        let content = String::from_utf8_lossy(&unzip_file(&zip, name)).into_owned();
        for secret in ["Farbrezeptur", "Oxidant", "Tisch am Fenster"] {
            assert!(!content.contains(secret), "{name} holds {secret:?}");
        }
    }
    // the protocol says an export was made, without content
    let details: serde_json::Value = c
        .query_one(
            "SELECT details FROM retention.action_protocol
             WHERE action = 'export_created' AND guest_id = $1 AND actor = 'alice'",
            &[&g],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(details["pdfs"], 1);
    assert!(!details.to_string().contains("Jörg"));
}

#[tokio::test]
async fn without_trade_secrets_every_value_round_trips() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let b = fx::branch(&c, "Köln", None).await;
    let g = tricky_guest(&c, b).await;
    let dir = tempfile::tempdir().unwrap();
    let zip = dir.path().join("guest.zip");
    expect_code(
        &db.cli(&[
            "export",
            "--guest",
            &g.to_string(),
            "--out",
            zip.to_str().unwrap(),
        ]),
        0,
    );
    let (h, rows) = csv_of(&zip, "guest.csv");
    assert_eq!(field(&h, &rows[0], "notes"), SECRET_NOTE);
    let (h, rows) = csv_of(&zip, "reservations.csv");
    assert_eq!(field(&h, &rows[0], "notes"), RESERVATION_NOTE);
}

#[tokio::test]
async fn export_refuses_to_overwrite_unless_forced_and_names_unknown_guests() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let b = fx::branch(&c, "Köln", None).await;
    let g = fx::guest(&c, b, day("2024-01-01")).await;
    let dir = tempfile::tempdir().unwrap();
    let zip = dir.path().join("guest.zip");
    std::fs::write(&zip, "keep me").unwrap();
    let out = db.cli(&[
        "export",
        "--guest",
        &g.to_string(),
        "--out",
        zip.to_str().unwrap(),
    ]);
    expect_code(&out, 2);
    assert!(stderr(&out).contains("--force"), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&zip).unwrap(), "keep me");
    let out = db.cli(&[
        "export",
        "--guest",
        &g.to_string(),
        "--out",
        zip.to_str().unwrap(),
        "--force",
    ]);
    expect_code(&out, 0);
    assert!(unzip_list(&zip).contains(&"guest.csv".to_string()));
    let out = db.cli(&[
        "export",
        "--guest",
        "999999",
        "--out",
        dir.path().join("x.zip").to_str().unwrap(),
    ]);
    expect_code(&out, 2);
    assert!(stderr(&out).contains("guest 999999 does not exist"));
    assert!(!dir.path().join("x.zip").exists());
    // no temporary files are left behind
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
}

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
