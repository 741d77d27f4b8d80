//! Time zones and bad input: a branch with a time zone PostgreSQL does not
//! know is left out and reported while the others go on; a pool too small
//! and input that used to panic get a clear error.

mod common;

use common::faults::{branch_with_overdue, tick_at};
use common::{assert_anonymized, assert_untouched, expect_code, stderr, TestDb};

// --- one bad branch stops nothing else --------------------------------------

#[tokio::test]
async fn a_branch_with_an_unknown_time_zone_is_skipped_and_reported_the_others_go_on() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let (good, g) = branch_with_overdue(&c, "Köln", "Europe/Berlin").await;
    let (bad, h) = branch_with_overdue(&c, "Bonn", "Europe/Berlin ").await;
    let reports = tick_at(&db, "2026-11-25T01:35:00Z").await;
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].branches, [good]);
    assert_anonymized(&c, g).await;
    assert_untouched(&c, h).await;
    // the report and a manual run go on for the others
    expect_code(&db.cli(&["pending", "--format", "json"]), 0);
    let out = db.cli(&["status", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&expect_code(&out, 3)).unwrap();
    assert_eq!(json["invalid_time_zones"][0]["branch_id"], bad);
    assert!(
        json["attention"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a.as_str().unwrap().contains("time zone")),
        "{json}"
    );
}

// --- pool size --------------------------------------------------------------

#[tokio::test]
async fn a_pool_of_one_connection_is_refused_at_start_up() {
    let db = TestDb::migrated().await;
    let out = db.cli_env(
        &["check-config"],
        &[("RETENTIOND__DATABASE__POOL_SIZE", "1")],
    );
    expect_code(&out, 2);
    let err = stderr(&out);
    assert!(
        err.contains("database.pool_size = \"1\" is too small"),
        "{err}"
    );
}

// --- no panic from input ----------------------------------------------------

#[tokio::test]
async fn input_that_used_to_panic_gets_a_clear_error() {
    let db = TestDb::migrated().await;
    let out = db.cli(&["pending", "--within", "999999999d"]);
    expect_code(&out, 2);
    let err = stderr(&out);
    assert!(err.contains("too long a window"), "{err}");
    let out = db.cli_env(
        &["check-config"],
        &[("RETENTIOND__GDPR__ANSWER_WITHIN", "99999999d")],
    );
    expect_code(&out, 2);
    let err = stderr(&out);
    assert!(err.contains("gdpr.answer_within"), "{err}");
    let out = db.cli(&["settings", "show", "--branch", "424242"]);
    expect_code(&out, 2);
    let err = stderr(&out);
    assert!(err.contains("branch 424242 does not exist"), "{err}");
    for out in [
        db.cli(&["pending", "--within", "999999999d"]),
        db.cli_env(&["serve"], &[("WATCHDOG_USEC", "1")]),
    ] {
        assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    }
}

#[tokio::test]
async fn durations_beyond_their_limit_are_usage_errors_naming_the_limit() {
    let db = TestDb::migrated().await;
    for (args, limit) in [
        (
            ["run", "--dry-run", "--wait", "99999999999999h"],
            "at most 1day",
        ),
        (["run", "--dry-run", "--wait", "25h"], "at most 1day"),
        (["run", "--dry-run", "--window", "8days"], "at most 7days"),
    ] {
        let out = db.cli(&args);
        expect_code(&out, 2);
        let err = stderr(&out);
        assert!(err.contains(limit), "{args:?}: {err}");
    }
    // the limits themselves are accepted
    let out = db.cli(&["run", "--dry-run", "--wait", "24h", "--window", "7days"]);
    assert_ne!(out.status.code(), Some(2), "{}", stderr(&out));
}
