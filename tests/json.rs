//! `--format json`: every command prints one JSON document on stdout when
//! it succeeds, and one JSON object on stderr (`error`, `exit_code`,
//! `kind`, the argument or settings key) when it fails.

mod common;

use common::{day, fx, stderr, TestDb};
use serde_json::Value;

/// Runs the command with `--format json` (as `url`'s login when given)
/// and checks the outcome's JSON; returns the document.
fn json(db: &TestDb, url: Option<&str>, args: &[&str], code: i32) -> Value {
    let mut all = args.to_vec();
    all.extend_from_slice(&["--format", "json"]);
    let out = match url {
        Some(url) => db.cli_as(url, &all),
        None => db.cli_env(&all, &[("RETENTIOND__MAIL__TRANSPORT", "log")]),
    };
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert_eq!(
        out.status.code(),
        Some(code),
        "{args:?}\nstdout: {stdout}\nstderr: {stderr}"
    );
    if code == 0 {
        serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("{args:?}: stdout is not one JSON document ({e}): {stdout}"))
    } else {
        // the log may precede it; the error is the last line
        let last = stderr.lines().last().unwrap_or_default();
        let doc: Value = serde_json::from_str(last)
            .unwrap_or_else(|e| panic!("{args:?}: stderr ends in no JSON error ({e}): {stderr}"));
        assert_eq!(doc["exit_code"], code, "{doc}");
        assert!(
            doc["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{doc}"
        );
        doc
    }
}

#[tokio::test]
async fn every_command_answers_in_json_on_success_and_on_failure() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let b = fx::branch(&c, "Köln", None).await;
    let g = fx::guest(&c, b, day("2020-01-01")).await;
    fx::sale(&c, g, day("2020-01-01")).await;
    let keep = fx::guest(&c, b, day("2026-01-01")).await;
    let (bs, gs, ks) = (b.to_string(), g.to_string(), keep.to_string());
    let dir = tempfile::tempdir().unwrap();
    let zip = dir.path().join("guest.zip");
    let zip = zip.to_str().unwrap();

    // nothing configured yet: run says so in JSON
    let doc = json(&db, None, &["run", "--yes"], 0);
    assert_eq!(doc["outcome"], "nothing_configured");

    let doc = json(&db, None, &["migrate"], 0);
    assert_eq!(doc["applied"], serde_json::json!([]));
    let doc = json(&db, None, &["check-config"], 0);
    assert!(doc["database"]["url"].is_string(), "{doc}");
    let doc = json(&db, None, &["demo-data"], 2);
    assert_eq!(doc["kind"], "invalid");

    let doc = json(
        &db,
        None,
        &[
            "policy", "set", "--branch", &bs, "--type", "guest", "--period", "3 years",
        ],
        0,
    );
    assert_eq!(
        (doc["changed"].clone(), doc["new"].clone()),
        (true.into(), "3 years".into())
    );
    let doc = json(
        &db,
        None,
        &[
            "policy", "set", "--branch", "999", "--type", "guest", "--period", "3 years",
        ],
        2,
    );
    assert_eq!(doc["kind"], "refused");
    let doc = json(
        &db,
        None,
        &[
            "policy", "set", "--branch", &bs, "--type", "vip", "--period", "1y",
        ],
        2,
    );
    assert_eq!(
        (doc["kind"].clone(), doc["argument"].clone()),
        ("usage".into(), "--type".into())
    );
    json(
        &db,
        None,
        &[
            "policy",
            "unset",
            "--branch",
            &bs,
            "--type",
            "regular_guest",
        ],
        0,
    );
    json(&db, None, &["policy", "show"], 0);
    let doc = json(
        &db,
        None,
        &[
            "settings",
            "set",
            "--branch",
            &bs,
            "--notify",
            "chef@example.org",
        ],
        0,
    );
    assert_eq!(doc["changed"], true);
    let doc = json(&db, None, &["settings", "set", "--branch", &bs], 2);
    assert!(doc["error"].as_str().unwrap().contains("nothing to change"));
    json(&db, None, &["settings", "show"], 0);
    json(&db, None, &["classify", "--guest", &gs], 0);
    json(&db, None, &["classify", "--guest", "999999"], 2);
    json(&db, None, &["pending"], 0);
    json(&db, None, &["pending", "--within", "0d"], 2);

    let doc = json(&db, None, &["run", "--dry-run"], 0);
    assert_eq!(doc["dry_run"], true);
    let doc = json(&db, None, &["run", "--yes"], 0);
    assert_eq!(doc["status"], "completed");
    let doc = json(&db, None, &["run", "--yes"], 0);
    assert_eq!(doc["outcome"], "nothing_due");

    let doc = json(&db, None, &["export", "--guest", &ks, "--out", zip], 0);
    assert_eq!(doc["guest_id"], keep);
    let doc = json(&db, None, &["export", "--guest", &ks, "--out", zip], 2);
    assert!(
        doc["error"].as_str().unwrap().contains("exists already"),
        "{doc}"
    );

    let doc = json(
        &db,
        None,
        &["erasure", "request", "--guest", &ks, "--reason", "mail"],
        0,
    );
    let request = doc["request_id"].as_i64().unwrap().to_string();
    json(
        &db,
        None,
        &["erasure", "request", "--guest", &ks, "--reason", "again"],
        2,
    );
    json(&db, None, &["erasure", "list"], 0);
    let doc = json(&db, None, &["erasure", "approve", "--request", &request], 2);
    assert!(
        doc["error"].as_str().unwrap().contains("four-eyes"),
        "{doc}"
    );
    let other = db.login("other").await;
    let doc = json(
        &db,
        Some(&other),
        &["erasure", "approve", "--request", &request],
        0,
    );
    assert_eq!(doc["status"], "approved");
    json(
        &db,
        None,
        &[
            "erasure",
            "reject",
            "--request",
            &request,
            "--reason",
            "late",
        ],
        2,
    );
    json(&db, None, &["erasure", "withdraw", "--request", "999"], 2);

    json(&db, None, &["protocol", "--guest", &ks], 0);
    json(&db, None, &["protocol", "verify"], 0);
    json(&db, None, &["protocol", "verify", "--seal", "1:00"], 2);
    let html = dir.path().join("report.html");
    let html = html.to_str().unwrap();
    let doc = json(&db, None, &["report", "--year", "2026", "--out", html], 0);
    assert_eq!(doc["seal"]["intact"], true, "{doc}");
    let doc = json(&db, None, &["report", "--year", "2026", "--out", html], 2);
    assert!(doc["error"].as_str().unwrap().contains("--force"), "{doc}");
    let other = dir.path().join("other.html");
    let other = other.to_str().unwrap();
    let doc = json(
        &db,
        None,
        &[
            "report", "--year", "2026", "--branch", "999", "--out", other,
        ],
        2,
    );
    assert_eq!(doc["kind"], "refused", "{doc}");
    json(&db, None, &["status"], 0);
    let doc = json(&db, None, &["notify", "pending", "--branch", &bs], 0);
    assert!(doc["delivered"].is_number(), "{doc}");
    json(&db, None, &["notify", "pending", "--branch", "999"], 2);
    json(&db, None, &["outbox", "list"], 0);
    // `outbox` alone lists, as `outbox list` does
    let doc = json(&db, None, &["outbox"], 0);
    assert!(doc.is_array(), "{doc}");
    let doc = json(&db, None, &["outbox", "flush"], 0);
    assert!(doc["delivered"].is_number(), "{doc}");
    let doc = json(&db, None, &["mail-test", "--to", "ops@example.org"], 0);
    assert_eq!(doc["accepted"], true);
    json(&db, None, &["mail-test", "--to", "not an address"], 2);
    let doc = json(&db, None, &["grant", "--role", "nobody_here"], 2);
    assert!(doc["error"].as_str().unwrap().contains("does not exist"));

    // the ledger: nothing to replay; a dry run without a ledger
    let doc = json(&db, None, &["replay"], 0);
    assert_eq!(doc["erasures"], serde_json::json!([]), "{doc}");
    let out = db.cli_env(
        &["replay", "--dry-run", "--format", "json"],
        &[("RETENTIOND__LEDGER__PATH", "/nonexistent/ledger")],
    );
    assert_eq!(out.status.code(), Some(2));
    let doc: Value = serde_json::from_slice(&out.stderr).unwrap();
    assert_eq!(doc["kind"], "invalid", "{doc}");

    // settings and the database itself
    let out = db.cli_env(
        &["status", "--format", "json"],
        &[("RETENTIOND__BATCH__SIZE", "0")],
    );
    assert_eq!(out.status.code(), Some(2));
    let doc: Value = serde_json::from_slice(&out.stderr).unwrap();
    assert_eq!(doc["settings"][0]["key"], "batch.size", "{doc}");
    let out = db.cli_env(
        &["pending", "--format", "json"],
        &[
            (
                "RETENTIOND__DATABASE__URL",
                "host=127.0.0.1 port=1 user=nobody dbname=x",
            ),
            ("RETENTIOND__DATABASE__CONNECT_TIMEOUT", "2s"),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let last = String::from_utf8_lossy(&out.stderr)
        .lines()
        .last()
        .unwrap()
        .to_string();
    let doc: Value = serde_json::from_str(&last).unwrap();
    assert_eq!(doc["kind"], "database_unavailable", "{doc}");
}

#[tokio::test]
async fn a_missing_argument_is_named_in_the_json_error() {
    let db = TestDb::migrated().await;
    let doc = json(&db, None, &["classify"], 2);
    assert_eq!(doc["kind"], "usage", "{doc}");
    assert_eq!(doc["argument"], "--guest", "{doc}");
    assert_eq!(
        doc["error"],
        "the following required arguments were not provided: --guest <ID>"
    );
    let doc = json(&db, None, &["policy", "set", "--branch", "1"], 2);
    assert_eq!(doc["argument"], "--type", "{doc}");
    assert_eq!(doc["arguments"], serde_json::json!(["--type", "--period"]));
}

#[tokio::test]
async fn a_reader_that_stops_reading_ends_the_output_without_a_panic() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    fx::branch(&c, "Köln", None).await;
    // a pipe whose reader is gone: every write gets EPIPE
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = db
        .command(&["policy", "show", "--format", "json"], &[])
        .stdout(writer)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
}
