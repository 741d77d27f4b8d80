//! CSV cells never start a formula: a value beginning with `=`, `+`, `-`
//! or `@` is written with a leading apostrophe, in the export ZIP and in
//! `protocol --format csv`; plain numbers stay as they are.

mod common;

use common::archive::{csv_of, field};
use common::{day, expect_code, fx, TestDb};

const FORMULA: &str = "=HYPERLINK(\"http://evil.example\",\"Klick\")";

#[tokio::test]
async fn an_export_writes_no_formula_cell() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let b = fx::branch(&c, "Köln", None).await;
    let g = fx::guest(&c, b, day("2024-01-01")).await;
    c.execute(
        "UPDATE guests SET notes = $2, phone = '+49 221 123', first_name = '@Chef' WHERE id = $1",
        &[&g, &FORMULA],
    )
    .await
    .unwrap();
    let s = fx::sale(&c, g, day("2024-01-01")).await;
    c.execute("UPDATE sales SET total_cents = -1250 WHERE id = $1", &[&s])
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let zip = dir.path().join("guest.zip");
    let args = [
        "export",
        "--guest",
        &g.to_string(),
        "--out",
        zip.to_str().unwrap(),
    ];
    expect_code(&db.cli(&args), 0);
    let (h, rows) = csv_of(&zip, "guest.csv");
    assert_eq!(field(&h, &rows[0], "notes"), format!("'{FORMULA}"));
    assert_eq!(field(&h, &rows[0], "phone"), "'+49 221 123");
    assert_eq!(field(&h, &rows[0], "first_name"), "'@Chef");
    let (h, rows) = csv_of(&zip, "sales.csv");
    assert_eq!(
        field(&h, &rows[0], "total_cents"),
        "-1250",
        "a number stays"
    );
}

#[tokio::test]
async fn the_protocol_as_csv_writes_no_formula_cell() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let b = fx::branch(&c, "Köln", None).await;
    let set = [
        "policy",
        "set",
        "--branch",
        &b.to_string(),
        "--type",
        "guest",
        "--period",
        "3 years",
        "--actor=-cmd|' /C calc'!A0",
    ];
    expect_code(&db.cli(&set), 0);
    let out = expect_code(&db.cli(&["protocol", "--format", "csv"]), 0);
    let mut reader = csv::Reader::from_reader(out.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    let actor = header.iter().position(|h| h == "actor").unwrap();
    let actors: Vec<String> = reader
        .records()
        .map(|r| r.unwrap()[actor].to_string())
        .collect();
    assert_eq!(actors, ["'-cmd|' /C calc'!A0"]);
}
