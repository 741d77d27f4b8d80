//! Every column of the guest data decided: a column the POS adds is
//! reported at once (status, metrics, the pending mail) and anonymized by
//! the next run once an admin decides so; kept columns stay; NOT NULL and
//! built-in columns cannot be decided otherwise. Done as granted logins.

mod common;

use common::security::guest;
use common::{expect_code, fx, stdout, TestDb};

fn json(out: &str) -> serde_json::Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

fn handling(doc: &serde_json::Value, table: &str, column: &str) -> String {
    doc.as_array()
        .unwrap()
        .iter()
        .find(|c| c["table_name"] == table && c["column_name"] == column)
        .map(|c| c["handling"].as_str().unwrap().to_string())
        .unwrap_or_else(|| panic!("{table}.{column} in {doc}"))
}

#[tokio::test]
async fn a_column_the_pos_adds_is_reported_at_once_and_anonymized_once_decided() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let (b, g) = guest(&c).await;
    let admin = db.login("admin").await;
    assert_eq!(db.cli_as(&admin, &["status"]).status.code(), Some(0));
    let shown = json(&expect_code(
        &db.cli_as(&admin, &["columns", "show", "--format", "json"]),
        0,
    ));
    assert_eq!(handling(&shown, "guests", "first_name"), "built_in");

    // the POS's next release
    c.batch_execute(&format!(
        "ALTER TABLE guests ADD COLUMN allergies text, ADD COLUMN loyalty_tier text NOT NULL DEFAULT 'none';
         ALTER TABLE reservations ADD COLUMN table_no integer;
         UPDATE guests SET allergies = 'nuts', loyalty_tier = 'gold' WHERE id = {g};"
    ))
    .await
    .unwrap();
    let shown = json(&expect_code(
        &db.cli_as(&admin, &["columns", "show", "--format", "json"]),
        0,
    ));
    assert_eq!(handling(&shown, "guests", "allergies"), "unclassified");
    let status = db.cli_as(&admin, &["status", "--format", "json"]);
    assert_eq!(status.status.code(), Some(3));
    let doc = json(&stdout(&status));
    assert_eq!(
        doc["unclassified_columns"],
        serde_json::json!([
            "guests.allergies",
            "guests.loyalty_tier",
            "reservations.table_no"
        ])
    );
    let cx = common::context(common::settings(&db, ""), chrono::Utc::now());
    let snapshot = retentiond::retention::health::metrics_snapshot(&cx)
        .await
        .unwrap();
    assert_eq!(snapshot.unclassified_columns, 3);

    // decided: NOT NULL cannot go to NULL, the built-in stays built in, and
    // the owner role needs the right to update it
    let set = |column: &str, how: &str| {
        db.cli_as(
            &admin,
            &["columns", "set", "--column", column, "--handling", how],
        )
    };
    assert_eq!(
        set("guests.loyalty_tier", "anonymize").status.code(),
        Some(2)
    );
    assert_eq!(set("guests.email", "keep").status.code(), Some(2));
    let refused = set("guests.allergies", "anonymize");
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        common::stderr(&refused).contains("GRANT UPDATE (allergies)"),
        "{}",
        common::stderr(&refused)
    );
    c.batch_execute("GRANT UPDATE (allergies) ON guests TO retentiond_owner")
        .await
        .unwrap();
    expect_code(&set("guests.allergies", "anonymize"), 0);
    expect_code(&set("guests.loyalty_tier", "keep"), 0);
    expect_code(&set("reservations.table_no", "keep"), 0);
    assert_eq!(db.cli_as(&admin, &["status"]).status.code(), Some(0));
    let decided = fx::count(
        &c,
        "SELECT count(*) FROM retention.action_protocol WHERE action = 'column_decided'
           AND details->>'login' LIKE '%_admin'",
    )
    .await;
    assert_eq!(decided, 3);

    // the next run anonymizes it with the guest; the kept one stays
    expect_code(&db.cli_as(&admin, &["run", "--yes"]), 0);
    common::assert_anonymized(&c, g).await;
    let row = c
        .query_one(
            "SELECT allergies, loyalty_tier FROM guests WHERE id = $1",
            &[&g],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, Option<String>>(0), None);
    assert_eq!(row.get::<_, String>(1), "gold");
    let _ = b;
}

#[tokio::test]
async fn an_approved_erasure_anonymizes_the_decided_columns_too() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let b = fx::branch(&c, "Köln", None).await;
    let g = fx::guest(&c, b, common::day("2026-10-01")).await;
    c.batch_execute(&format!(
        "ALTER TABLE guests ADD COLUMN allergies text;
         GRANT UPDATE (allergies) ON guests TO retentiond_owner;
         UPDATE guests SET allergies = 'nuts' WHERE id = {g};"
    ))
    .await
    .unwrap();
    let (alice, bob) = (db.login("alice").await, db.login("bob").await);
    expect_code(
        &db.cli_as(
            &alice,
            &[
                "columns",
                "set",
                "--column",
                "guests.allergies",
                "--handling",
                "anonymize",
            ],
        ),
        0,
    );
    let out = expect_code(
        &db.cli_as(
            &alice,
            &[
                "erasure",
                "request",
                "--guest",
                &g.to_string(),
                "--reason",
                "mail",
                "--format",
                "json",
            ],
        ),
        0,
    );
    let id = json(&out)["request_id"].as_i64().unwrap();
    expect_code(
        &db.cli_as(&bob, &["erasure", "approve", "--request", &id.to_string()]),
        0,
    );
    let allergies: Option<String> = c
        .query_one("SELECT allergies FROM guests WHERE id = $1", &[&g])
        .await
        .unwrap()
        .get(0);
    assert_eq!(allergies, None);
}
