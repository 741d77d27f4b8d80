//! The ledger's tests: a world with an overdue guest and one to erase, an
//! approved erasure by two logins, backups by pg_dump and pg_restore,
//! daemons with a ledger of their choice, and the ledger's lines read back.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use tokio_postgres::Client;

use super::faults::wait_until;
use super::{day, expect_code, fx, TestDb};

/// A branch with a guest period: nineteen recent guests, one overdue and
/// one recent guest to be erased on request; returns (overdue, to erase).
pub async fn world(c: &Client) -> (i64, i64) {
    let b = fx::branch(c, "Köln", None).await;
    fx::policy(c, b, "guest", "3 years").await;
    for _ in 0..19 {
        let g = fx::guest(c, b, day("2026-09-01")).await;
        fx::sale(c, g, day("2026-09-01")).await;
    }
    let overdue = fx::guest(c, b, day("2020-01-01")).await;
    fx::sale(c, overdue, day("2020-01-01")).await;
    let erased = fx::guest(c, b, day("2026-10-01")).await;
    fx::sale(c, erased, day("2026-10-01")).await;
    (overdue, erased)
}

/// An erasure of `guest` requested by the superuser's login and approved
/// by a second login.
pub async fn approved_erasure(db: &TestDb, guest: i64) -> i64 {
    approved_erasure_env(db, guest, &[]).await
}

/// [`approved_erasure`] with `env` for both commands (another ledger.path).
pub async fn approved_erasure_env(db: &TestDb, guest: i64, env: &[(&str, &str)]) -> i64 {
    let reviewer = db.login("reviewer").await;
    let out = expect_code(
        &db.cli_env(
            &[
                "erasure",
                "request",
                "--guest",
                &guest.to_string(),
                "--reason",
                "mail of 20.11.",
                "--format",
                "json",
            ],
            env,
        ),
        0,
    );
    let request = json(&out)["request_id"].as_i64().expect("request id");
    let mut as_reviewer = env.to_vec();
    as_reviewer.push(("RETENTIOND__DATABASE__URL", reviewer.as_str()));
    expect_code(
        &db.cli_env(
            &["erasure", "approve", "--request", &request.to_string()],
            &as_reviewer,
        ),
        0,
    );
    request
}

/// `policy set` of the guest period of branch 1 (another than the world's
/// three years): a protocol row, a seal.
pub fn set_period(db: &TestDb, period: &str) {
    expect_code(
        &db.cli(&[
            "policy", "set", "--branch", "1", "--type", "guest", "--period", period,
        ]),
        0,
    );
}

pub fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

pub fn pg_bin() -> String {
    std::env::var("PG_BIN").unwrap_or_else(|_| "/usr/lib/postgresql/15/bin".into())
}

/// pg_dump of `from` into `dump`, as an operator's nightly backup.
pub fn dump(from: &TestDb, dump: &Path) {
    let ok = Command::new(format!("{}/pg_dump", pg_bin()))
        .args(["--format=custom", "--file"])
        .arg(dump)
        .arg(format!("--dbname={}", from.url))
        .status()
        .unwrap();
    assert!(ok.success(), "pg_dump");
}

/// pg_restore of `dump` into the empty database `into`.
pub fn restore(dump: &Path, into: &TestDb) {
    let ok = Command::new(format!("{}/pg_restore", pg_bin()))
        .arg(format!("--dbname={}", into.url))
        .arg("--exit-on-error")
        .arg(dump)
        .status()
        .unwrap();
    assert!(ok.success(), "pg_restore");
}

/// `retentiond serve` on `db` with the ledger at `ledger`, ticking every
/// second, its night far away.
pub fn serve(db: &TestDb, ledger: &Path) -> Child {
    let nightly_at = (chrono::Utc::now() + chrono::Duration::hours(12))
        .format("%H:%M")
        .to_string();
    db.command(
        &["serve"],
        &[
            ("RETENTIOND__LEDGER__PATH", ledger.to_str().unwrap()),
            ("RETENTIOND__SCHEDULE__TICK", "1s"),
            ("RETENTIOND__SCHEDULE__NIGHTLY_AT", nightly_at.as_str()),
        ],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .expect("start retentiond serve")
}

/// The ledger's lines.
pub fn lines(ledger: &Path) -> Vec<Value> {
    std::fs::read_to_string(ledger)
        .unwrap_or_default()
        .lines()
        .map(json)
        .collect()
}

pub fn seal_lines(ledger: &Path) -> usize {
    lines(ledger).iter().filter(|l| l["kind"] == "seal").count()
}

/// Waits until a daemon's tick recorded a protocol row written now: its
/// ledger gains a seal line.
pub async fn a_tick_recorded(c: &Client, ledger: &Path) {
    let before = seal_lines(ledger);
    c.execute(
        "INSERT INTO retention.action_protocol (actor, action) VALUES ('test', 'settings_changed')",
        &[],
    )
    .await
    .unwrap();
    wait_until(
        "the daemon's tick records the new seal",
        Duration::from_secs(30),
        async || seal_lines(ledger) > before,
    )
    .await;
}

pub async fn count(c: &Client, sql: &str) -> i64 {
    fx::count(c, sql).await
}

/// `protocol verify --format json` on `db` (with `extra`): (exit, verdict, stderr).
pub fn verify(db: &TestDb, extra: &[&str]) -> (i32, Value, String) {
    let mut args = vec!["protocol", "verify", "--format", "json"];
    args.extend_from_slice(extra);
    let out = db.cli(&args);
    let verdict = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (
        out.status.code().unwrap_or(-1),
        verdict,
        super::stderr(&out),
    )
}
