//! The database boundary: a failed statement is named by its `sql/queries`
//! file in the output, the log and `runs.error`; a value that retentiond
//! never writes is an internal error naming its column (exit 1), not a
//! usage error.

mod common;

use common::security::guest;
use common::{expect_code, stderr, TestDb};

#[tokio::test]
async fn a_failed_statement_is_named_in_the_output_and_in_the_runs_record() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let _ = guest(&c).await;
    // the POS refuses anonymized names
    c.batch_execute(
        "ALTER TABLE guests ADD CONSTRAINT pos_names CHECK (last_name <> 'DSGVO') NOT VALID",
    )
    .await
    .unwrap();
    let out = db.cli(&["run", "--yes"]);
    expect_code(&out, 1);
    assert!(
        stderr(&out).contains("database error in run_batch"),
        "{}",
        stderr(&out)
    );
    let error: String = c
        .query_one("SELECT error FROM retention.runs", &[])
        .await
        .unwrap()
        .get(0);
    assert!(
        error.contains("in run_batch") && error.contains("SQLSTATE 23514"),
        "{error}"
    );
}

#[tokio::test]
async fn a_status_retentiond_never_writes_is_an_internal_error_naming_the_column() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let _ = guest(&c).await;
    expect_code(&db.cli(&["run", "--yes"]), 0);
    // a hand edit past the table's own check
    c.batch_execute(
        "ALTER TABLE retention.runs DROP CONSTRAINT runs_status_check;
         UPDATE retention.runs SET status = 'exploded';",
    )
    .await
    .unwrap();
    let out = db.cli(&["status", "--format", "json"]);
    let err: serde_json::Value = serde_json::from_str(stderr(&out).trim())
        .unwrap_or_else(|_| panic!("one JSON error: {}", stderr(&out)));
    assert_eq!(out.status.code(), Some(1), "not a usage error: {err}");
    assert_eq!(err["kind"], "internal");
    let message = err["error"].as_str().unwrap();
    assert!(
        message.contains("\"exploded\"") && message.contains("status"),
        "{message}"
    );
}
