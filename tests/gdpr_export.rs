//! The export ZIP of a data subject request: CSVs that round-trip every
//! value, trade secrets withheld when configured, no overwriting without
//! `--force`, and unknown guests named.

mod common;

use std::process::Command;

use common::archive::{csv_of, field, unzip_file, unzip_list};
use common::{day, expect_code, fx, stderr, TestDb};
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
