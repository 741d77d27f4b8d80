//! A pause of deleting work: stored in the database, respected by every
//! daemon and manual run across restarts, refused to the API itself, shown
//! by status, the metrics and the pending mail, ending by itself at its
//! time with a protocol row. Done as granted logins.

mod common;

use std::process::{Child, Stdio};
use std::time::Duration;

use chrono::{DateTime, Utc};
use common::faults::wait_until;
use common::{assert_untouched, day, expect_code, fx, stdout, terminate, TestDb};
use tokio_postgres::Client;

fn json(out: &str) -> serde_json::Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

/// A branch with automatic deletion on, nineteen recent guests and one
/// overdue (the guard lets a night through); returns (branch, overdue guest).
async fn branch(c: &Client) -> (i64, i64) {
    let b = fx::branch(c, "Köln", None).await;
    fx::policy(c, b, "guest", "3 years").await;
    fx::branch_settings_auto_delete(c, b).await;
    for _ in 0..19 {
        let g = fx::guest(c, b, day("2026-09-01")).await;
        fx::sale(c, g, day("2026-09-01")).await;
    }
    let g = fx::guest(c, b, day("2020-01-01")).await;
    fx::sale(c, g, day("2020-01-01")).await;
    (b, g)
}

/// `retentiond serve` as `url`, its night begun a minute ago, ticking every second.
fn serve(db: &TestDb, url: &str) -> Child {
    let nightly_at = (Utc::now() - chrono::Duration::minutes(1))
        .format("%H:%M")
        .to_string();
    db.command(
        &["serve"],
        &[
            ("RETENTIOND__DATABASE__URL", url),
            ("RETENTIOND__SCHEDULE__TICK", "1s"),
            ("RETENTIOND__BATCH__PAUSE", "0s"),
            ("RETENTIOND__SCHEDULE__NIGHTLY_AT", nightly_at.as_str()),
        ],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .expect("start retentiond serve")
}

async fn count(c: &Client, sql: &str) -> i64 {
    fx::count(c, sql).await
}

#[tokio::test]
async fn a_pause_outlives_a_daemon_restart_and_ends_by_itself() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let (b, g) = branch(&c).await;
    let admin = db.login("admin").await;
    let until = (Utc::now() + chrono::Duration::seconds(8)).to_rfc3339();
    let out = expect_code(
        &db.cli_as(
            &admin,
            &[
                "pause",
                "--reason",
                "incident 4711",
                "--until",
                &until,
                "--format",
                "json",
            ],
        ),
        0,
    );
    let pause = json(&out)["pause_id"].as_i64().unwrap();
    // a first daemon comes up and is stopped again while the pause holds
    let mut first = serve(&db, &admin);
    wait_until(
        "the first daemon's tick",
        Duration::from_secs(30),
        async || {
            count(
                &c,
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'retentiond'",
            )
            .await
                > 0
        },
    )
    .await;
    terminate(&mut first, Duration::from_secs(5));
    // a second one runs the night, but only once the pause has ended
    let mut second = serve(&db, &admin);
    wait_until(
        "the night's run after the pause",
        Duration::from_secs(60),
        async || {
            count(
                &c,
                "SELECT count(*) FROM retention.runs WHERE status = 'completed'",
            )
            .await
                > 0
        },
    )
    .await;
    terminate(&mut second, Duration::from_secs(5));
    common::assert_anonymized(&c, g).await;
    let (until, ended_how, ended_login): (DateTime<Utc>, String, String) = c
        .query_one(
            "SELECT until, ended_how, ended_login FROM retention.pauses WHERE id = $1",
            &[&pause],
        )
        .await
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .unwrap();
    assert_eq!(ended_how, "expired");
    assert!(ended_login.ends_with("_admin"), "{ended_login}");
    let started: DateTime<Utc> = c
        .query_one("SELECT min(started_at) FROM retention.runs", &[])
        .await
        .unwrap()
        .get(0);
    assert!(
        started >= until,
        "a run started at {started}, before the pause ended at {until}"
    );
    let ended = count(
        &c,
        &format!(
            "SELECT count(*) FROM retention.action_protocol
             WHERE action = 'pause_ended' AND actor = 'retentiond' AND (details->>'pause_id')::bigint = {pause}"
        ),
    )
    .await;
    assert_eq!(ended, 1, "the end is a protocol row of the daemon's");
    let _ = b;
}

#[tokio::test]
async fn while_paused_nothing_deletes_and_everyone_sees_it() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let (b, g) = branch(&c).await;
    let admin = db.login("admin").await;
    let until = (Utc::now() + chrono::Duration::days(2)).to_rfc3339();
    let pause = json(&expect_code(
        &db.cli_as(
            &admin,
            &[
                "pause",
                "--branch",
                &b.to_string(),
                "--reason",
                "POS migration",
                "--until",
                &until,
                "--format",
                "json",
            ],
        ),
        0,
    ))["pause_id"]
        .as_i64()
        .unwrap();

    // a manual run names the pause; its dry run still shows what is due
    let run = db.cli_as(&admin, &["run", "--yes"]);
    assert_eq!(run.status.code(), Some(1));
    let text = common::stderr(&run);
    assert!(
        text.contains(&format!("paused (pause {pause}, branch {b})")),
        "{text}"
    );
    expect_code(&db.cli_as(&admin, &["run", "--dry-run"]), 0);
    // the database refuses it too, to any login
    let login = common::connect(&admin).await;
    let e = login
        .batch_execute(&format!("SELECT pg_advisory_lock(retention.branch_lock_key({b})); SELECT retention_api.run_create('manual', 'x', ARRAY[{b}]::bigint[], NULL, NULL, now(), now())"))
        .await
        .expect_err("a run's record is refused");
    assert_eq!(e.code().map(|c| c.code()), Some("RT006"));
    drop(login);
    // and an approved erasure waits as well
    let bob = db.login("bob").await;
    let request = json(&expect_code(
        &db.cli_as(
            &admin,
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
    ))["request_id"]
        .as_i64()
        .unwrap();
    let approve = db.cli_as(
        &bob,
        &["erasure", "approve", "--request", &request.to_string()],
    );
    assert_eq!(
        approve.status.code(),
        Some(1),
        "{}",
        common::stderr(&approve)
    );
    assert_untouched(&c, g).await;

    // status, the metrics and the pending mail show it
    let status = db.cli_as(&admin, &["status", "--format", "json"]);
    assert_eq!(status.status.code(), Some(3));
    assert_eq!(json(&stdout(&status))["pauses"][0]["id"], pause);
    let cx = common::context(common::settings(&db, ""), Utc::now());
    let snapshot = retentiond::retention::health::metrics_snapshot(&cx)
        .await
        .unwrap();
    assert!(snapshot
        .branches
        .iter()
        .any(|x| x.branch_id == b && x.paused));
    let mails = common::mail::pending_mails_of(&db, &admin, b);
    let mail = &mails[0];
    assert!(
        mail.text.contains("Deleting is paused until"),
        "{}",
        mail.text
    );
    assert!(!mail.raw.contains("POS migration"));

    // resumed: the next run deletes
    expect_code(&db.cli_as(&bob, &["resume", "--branch", &b.to_string()]), 0);
    expect_code(&db.cli_as(&admin, &["run", "--yes"]), 0);
    common::assert_anonymized(&c, g).await;
    let rows = c
        .query(
            "SELECT action, details->>'login' FROM retention.action_protocol
             WHERE action IN ('paused', 'resumed') ORDER BY id",
            &[],
        )
        .await
        .unwrap();
    let rows: Vec<(String, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(rows.len(), 2);
    assert!(
        rows[0].0 == "paused" && rows[0].1.ends_with("_admin"),
        "{rows:?}"
    );
    assert!(
        rows[1].0 == "resumed" && rows[1].1.ends_with("_bob"),
        "{rows:?}"
    );
}

#[tokio::test]
async fn a_pause_is_bounded_and_resume_needs_one() {
    let db = TestDb::migrated().await;
    let admin = db.login("admin").await;
    let far = (Utc::now() + chrono::Duration::days(31)).to_rfc3339();
    let out = db.cli_as(&admin, &["pause", "--reason", "x", "--until", &far]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        common::stderr(&out).contains("30 days"),
        "{}",
        common::stderr(&out)
    );
    let past = (Utc::now() - chrono::Duration::minutes(1)).to_rfc3339();
    assert_eq!(
        db.cli_as(&admin, &["pause", "--reason", "x", "--until", &past])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(db.cli_as(&admin, &["resume"]).status.code(), Some(2));
    // a login cannot stretch a pause in plain SQL either
    let c = db.client().await;
    let soon = (Utc::now() + chrono::Duration::days(1)).to_rfc3339();
    expect_code(
        &db.cli_as(&admin, &["pause", "--reason", "x", "--until", &soon]),
        0,
    );
    let login = common::connect(&admin).await;
    let e = login
        .batch_execute("UPDATE retention.pauses SET until = now() + interval '1 year'")
        .await
        .expect_err("no login writes pauses");
    assert_eq!(e.code().map(|c| c.code()), Some("42501"));
    assert_eq!(
        count(
            &c,
            "SELECT count(*) FROM retention.pauses WHERE until > now() + interval '2 days'"
        )
        .await,
        0
    );
}
