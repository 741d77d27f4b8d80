//! `retentiond protocol` for auditors: nothing is cut when a period is
//! given, a cut is always said, and ndjson and csv stream every row.

mod common;

use common::{expect_code, stderr, TestDb};

/// 1500 protocol rows, one a minute from 2026-11-01 00:00 UTC on.
async fn protocol_rows(db: &TestDb) {
    db.client()
        .await
        .batch_execute(
            "INSERT INTO retention.action_protocol (at, actor, action, details)
             SELECT '2026-11-01'::timestamptz + n * interval '1 minute', 'auditor-test',
                    'policy_changed', jsonb_build_object('n', n, 'text', 'a, \"quoted\" value')
             FROM generate_series(0, 1499) AS n",
        )
        .await
        .unwrap();
}

fn json(db: &TestDb, args: &[&str]) -> (serde_json::Value, String) {
    let out = db.cli(args);
    let text = expect_code(&out, 0);
    (serde_json::from_str(&text).unwrap(), stderr(&out))
}

#[tokio::test]
async fn a_period_is_listed_whole_and_a_default_cut_is_said() {
    let db = TestDb::migrated().await;
    protocol_rows(&db).await;
    let (all, note) = json(
        &db,
        &["protocol", "--since", "2026-11-01", "--format", "json"],
    );
    assert_eq!(all["rows"].as_array().unwrap().len(), 1500);
    assert_eq!(all["truncated"], false);
    assert_eq!(all["limit"], serde_json::Value::Null);
    assert!(note.is_empty(), "{note}");
    // oldest first
    assert_eq!(all["rows"][0]["details"]["n"], 0);
    assert_eq!(all["rows"][1499]["details"]["n"], 1499);

    let (newest, note) = json(&db, &["protocol", "--format", "json"]);
    let rows = newest["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1000);
    assert_eq!(newest["truncated"], true);
    assert_eq!(
        rows[0]["details"]["n"], 500,
        "the newest 1000, oldest first"
    );
    assert!(note.contains("older ones were left out"), "{note}");

    // --until is exclusive; --limit is explicit and says when it cuts
    let (window, _) = json(
        &db,
        &[
            "protocol",
            "--since",
            "2026-11-01T01:00:00Z",
            "--until",
            "2026-11-01T02:00:00Z",
            "--format",
            "json",
        ],
    );
    assert_eq!(window["rows"].as_array().unwrap().len(), 60);
    let (five, note) = json(
        &db,
        &[
            "protocol",
            "--since",
            "2026-11-01",
            "--limit",
            "5",
            "--format",
            "json",
        ],
    );
    assert_eq!(five["rows"].as_array().unwrap().len(), 5);
    assert_eq!(five["truncated"], true);
    assert!(note.contains("newest 5"), "{note}");
    let (exact, note) = json(&db, &["protocol", "--limit", "1500", "--format", "json"]);
    assert_eq!(exact["rows"].as_array().unwrap().len(), 1500);
    assert_eq!(exact["truncated"], false);
    assert!(note.is_empty(), "{note}");
}

#[tokio::test]
async fn ndjson_and_csv_carry_every_row_of_a_period() {
    let db = TestDb::migrated().await;
    protocol_rows(&db).await;
    let out = db.cli(&["protocol", "--since", "2026-11-01", "--format", "ndjson"]);
    let text = expect_code(&out, 0);
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1500);
    assert_eq!(lines[1499]["details"]["n"], 1499);

    let out = db.cli(&["protocol", "--since", "2026-11-01", "--format", "csv"]);
    let text = expect_code(&out, 0);
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        [
            "id",
            "at",
            "actor",
            "action",
            "branch_id",
            "guest_id",
            "guest_type",
            "run_id",
            "details"
        ]
    );
    let records: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(records.len(), 1500);
    let details: serde_json::Value = serde_json::from_str(&records[7][8]).unwrap();
    assert_eq!(details["n"], 7);
    assert_eq!(details["text"], "a, \"quoted\" value");
}
