//! The nightly schedule on a real database: each branch's night runs once,
//! in its own time zone, across daylight-saving changes, and only inside its
//! window; a missed night is caught up the next night, never by day;
//! several daemons never run a night twice.

mod common;

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};
use common::{day, fx, terminate, TestDb};
use retentiond::model::Action;
use retentiond::retention::night;
use retentiond::retention::run::RunReport;
use retentiond::settings::Settings;
use tokio_postgres::Client;

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn settings(db: &TestDb) -> Settings {
    common::settings(db, "[schedule]\nnightly_at = \"02:30\"\n")
}

async fn tick(db: &TestDb, now: &str) -> Vec<RunReport> {
    let cx = common::context(settings(db), utc(now));
    night::run_due_nights(&cx, None).await.unwrap()
}

/// A branch with automatic deletion on, 19 retained guests and `overdue`
/// overdue ones (few enough for the guard).
async fn branch(c: &Client, name: &str, tz: &str, overdue: usize) -> i64 {
    let b = fx::branch(c, name, None).await;
    c.execute(
        "UPDATE branches SET time_zone = $2 WHERE id = $1",
        &[&b, &tz],
    )
    .await
    .unwrap();
    fx::policy(c, b, "guest", "3 years").await;
    fx::branch_settings_auto_delete(c, b).await;
    for _ in 0..19 {
        let g = fx::guest(c, b, day("2026-09-01")).await;
        fx::sale(c, g, day("2026-09-01")).await;
    }
    add_overdue(c, b, overdue).await;
    b
}

async fn add_overdue(c: &Client, branch: i64, n: usize) {
    for _ in 0..n {
        let g = fx::guest(c, branch, day("2020-01-01")).await;
        fx::sale(c, g, day("2020-01-01")).await;
    }
}

async fn nights(c: &Client, branch: i64) -> Vec<NaiveDate> {
    c.query(
        "SELECT night FROM retention.runs WHERE night_branch_id = $1 ORDER BY id",
        &[&branch],
    )
    .await
    .unwrap()
    .iter()
    .map(|r| r.get(0))
    .collect()
}

#[tokio::test]
async fn each_night_runs_once_and_a_missed_night_is_caught_up_the_next_night() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let b = branch(&c, "Köln", "Europe/Berlin", 1).await;

    // first start in the morning: last night's window (02:30 to 05:30 CET)
    // is over, so nothing is deleted by day
    assert!(tick(&db, "2026-11-25T10:00:00Z").await.is_empty());
    assert!(tick(&db, "2026-11-26T01:29:59Z").await.is_empty());
    // the next night (02:30 CET = 01:30 UTC) does what is due
    let reports = tick(&db, "2026-11-26T01:30:00Z").await;
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].total(Action::GuestAnonymized), 1);
    // a second firing the same night does nothing
    assert!(tick(&db, "2026-11-26T01:31:00Z").await.is_empty());
    add_overdue(&c, b, 1).await;
    // the daemon was down for three nights and is back by day: it waits
    assert!(tick(&db, "2026-11-29T09:00:00Z").await.is_empty());
    // inside the next night's window: one catch-up run, not three
    let reports = tick(&db, "2026-11-30T04:00:00Z").await;
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].total(Action::GuestAnonymized), 1);
    assert_eq!(
        nights(&c, b).await,
        [date("2026-11-26"), date("2026-11-30")]
    );
    // the runs are scheduled ones by the daemon
    let kinds = fx::count(
        &c,
        "SELECT count(*) FROM retention.runs WHERE kind = 'scheduled' AND actor = 'retentiond'",
    )
    .await;
    assert_eq!(kinds, 2);
}

#[tokio::test]
async fn each_branch_runs_in_its_own_night() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let vienna = branch(&c, "Wien", "Europe/Vienna", 0).await;
    let lisbon = branch(&c, "Lisboa", "Europe/Lisbon", 0).await;
    // 02:00 UTC: 03:00 in Vienna (its night of the 25th is due), 02:00 in
    // Lisbon (its night has not come yet, and the one before is long over)
    tick(&db, "2026-11-25T02:00:00Z").await;
    assert_eq!(nights(&c, vienna).await, [date("2026-11-25")]);
    assert_eq!(nights(&c, lisbon).await, []);
    // 02:30 UTC is 02:30 in Lisbon
    tick(&db, "2026-11-25T02:30:00Z").await;
    assert_eq!(nights(&c, vienna).await, [date("2026-11-25")]);
    assert_eq!(nights(&c, lisbon).await, [date("2026-11-25")]);
}

#[tokio::test]
async fn spring_forward_night_runs_once_at_the_end_of_the_gap() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let b = branch(&c, "Köln", "Europe/Berlin", 0).await;
    tick(&db, "2026-03-28T01:30:00Z").await;
    // 02:30 does not exist on 2026-03-29; 03:00 CEST = 01:00 UTC is the first instant after
    tick(&db, "2026-03-29T00:59:00Z").await;
    assert_eq!(nights(&c, b).await, [date("2026-03-28")]);
    tick(&db, "2026-03-29T01:00:00Z").await;
    tick(&db, "2026-03-29T01:30:00Z").await;
    tick(&db, "2026-03-29T23:59:00Z").await;
    assert_eq!(
        nights(&c, b).await,
        [date("2026-03-28"), date("2026-03-29")]
    );
    // the next night is at 02:30 CEST = 00:30 UTC
    tick(&db, "2026-03-30T00:29:00Z").await;
    assert_eq!(nights(&c, b).await.len(), 2);
    tick(&db, "2026-03-30T00:30:00Z").await;
    assert_eq!(nights(&c, b).await.len(), 3);
}

#[tokio::test]
async fn fall_back_night_runs_once_at_the_earlier_instant() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let b = branch(&c, "Köln", "Europe/Berlin", 0).await;
    tick(&db, "2026-10-24T00:30:00Z").await;
    // 02:30 happens twice on 2026-10-25: 00:30 UTC (CEST) and 01:30 UTC (CET)
    tick(&db, "2026-10-25T00:29:00Z").await;
    assert_eq!(nights(&c, b).await, [date("2026-10-24")]);
    tick(&db, "2026-10-25T00:30:00Z").await;
    tick(&db, "2026-10-25T01:30:00Z").await;
    tick(&db, "2026-10-25T01:45:00Z").await;
    assert_eq!(
        nights(&c, b).await,
        [date("2026-10-24"), date("2026-10-25")]
    );
    // after the change the night is at 02:30 CET = 01:30 UTC
    tick(&db, "2026-10-26T01:29:00Z").await;
    assert_eq!(nights(&c, b).await.len(), 2);
    tick(&db, "2026-10-26T01:30:00Z").await;
    assert_eq!(nights(&c, b).await.len(), 3);
}

#[tokio::test]
async fn branches_without_automatic_deletion_are_not_scheduled() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let b = branch(&c, "Köln", "Europe/Berlin", 1).await;
    c.execute(
        "UPDATE retention.branch_settings SET auto_delete = false WHERE branch_id = $1",
        &[&b],
    )
    .await
    .unwrap();
    assert!(tick(&db, "2026-11-25T10:00:00Z").await.is_empty());
    assert!(nights(&c, b).await.is_empty());
}

fn spawn_serve(db: &TestDb) -> Child {
    spawn_serve_env(db, &[])
}

/// A nightly time a minute ago in UTC: a daemon started now is inside the
/// night's window of a branch in UTC (see [`branch`] with "UTC").
fn night_began_a_minute_ago() -> String {
    (Utc::now() - chrono::Duration::minutes(1))
        .format("%H:%M")
        .to_string()
}

fn spawn_serve_env(db: &TestDb, env: &[(&str, &str)]) -> Child {
    let nightly_at = night_began_a_minute_ago();
    let mut all = vec![
        ("RETENTIOND__SCHEDULE__TICK", "1s"),
        ("RETENTIOND__BATCH__PAUSE", "0s"),
        ("RETENTIOND__SCHEDULE__NIGHTLY_AT", nightly_at.as_str()),
    ];
    all.extend_from_slice(env);
    db.command(&["serve"], &all)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start retentiond serve")
}

/// Waits up to 30 s for a daemon's run to complete.
async fn wait_for_a_completed_run(c: &Client) {
    let start = Instant::now();
    while fx::count(
        c,
        "SELECT count(*) FROM retention.runs WHERE status = 'completed'",
    )
    .await
        < 1
    {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no scheduled run"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// SIGTERM: the daemon exits 0 within 5 s.
fn stop(child: &mut Child) {
    let status = terminate(child, Duration::from_secs(5));
    assert_eq!(status.code(), Some(0), "serve exits 0 on SIGTERM");
}

#[tokio::test]
async fn two_daemons_run_a_night_once_and_stop_on_sigterm() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let b = branch(&c, "Köln", "UTC", 1).await;
    let mut first = spawn_serve(&db);
    let mut second = spawn_serve(&db);
    wait_for_a_completed_run(&c).await;
    // let both daemons tick a few more times
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop(&mut first);
    stop(&mut second);
    assert_eq!(nights(&c, b).await.len(), 1, "one run for the night");
    assert_eq!(
        fx::count(
            &c,
            "SELECT count(*) FROM retention.action_protocol WHERE action = 'guest_anonymized'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn the_daemon_runs_its_night_as_the_runtime_role_and_logs_the_protocol_seal() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let b = branch(&c, "Köln", "UTC", 2).await;
    let runtime = db.login("daemon").await;
    let mut daemon = spawn_serve_env(&db, &[("RETENTIOND__DATABASE__URL", runtime.as_str())]);
    wait_for_a_completed_run(&c).await;
    stop(&mut daemon);
    let mut log = String::new();
    std::io::Read::read_to_string(&mut daemon.stderr.take().unwrap(), &mut log).unwrap();
    assert_eq!(nights(&c, b).await.len(), 1);
    // the daemon's login: no superuser, owner of nothing it works on
    let role = runtime
        .split("user=")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap();
    let privileged = fx::count(
        &c,
        &format!(
            "SELECT (SELECT count(*) FROM pg_roles WHERE rolname = '{role}' AND rolsuper)
                  + (SELECT count(*) FROM pg_tables
                     WHERE tableowner = '{role}' AND schemaname IN ('public', 'retention'))"
        ),
    )
    .await;
    assert_eq!(privileged, 0);
    let seal = log
        .lines()
        .filter(|l| l.contains("run finished"))
        .find_map(|l| l.split("seal=").nth(1))
        .map(|s| {
            s.split_whitespace()
                .next()
                .unwrap()
                .trim_matches('"')
                .to_string()
        })
        .unwrap_or_else(|| panic!("the run's log line carries the seal:\n{log}"));
    let out = db.cli_as(&runtime, &["protocol", "verify", "--seal", &seal]);
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
}

#[tokio::test]
async fn database_outage_fails_the_run_and_the_daemon_retries_at_the_next_tick() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let b = branch(&c, "Köln", "UTC", 0).await;
    add_overdue(&c, b, 300).await;
    let mut daemon = spawn_serve_env(
        &db,
        &[
            ("RETENTIOND__SCHEDULE__GUARD", "1"),
            ("RETENTIOND__BATCH__SIZE", "10"),
            ("RETENTIOND__BATCH__PAUSE", "100ms"),
        ],
    );
    let start = Instant::now();
    while fx::count(
        &c,
        "SELECT count(*) FROM guests WHERE anonymized_at IS NOT NULL",
    )
    .await
        < 20
    {
        assert!(start.elapsed() < Duration::from_secs(30), "no progress");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // the database drops every connection of the daemon
    c.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE application_name = 'retentiond' AND datname = current_database()",
        &[],
    )
    .await
    .unwrap();
    let start = Instant::now();
    while fx::count(
        &c,
        "SELECT count(*) FROM retention.runs WHERE status = 'completed'",
    )
    .await
        < 1
    {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no retry after the outage"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        daemon.try_wait().unwrap().is_none(),
        "the daemon keeps running"
    );
    stop(&mut daemon);
    let runs: Vec<(String, Option<String>)> = c
        .query("SELECT status, error FROM retention.runs ORDER BY id", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(runs.len(), 2, "{runs:?}");
    assert!(
        ["failed", "interrupted"].contains(&runs[0].0.as_str()),
        "{runs:?}"
    );
    assert!(runs[0].1.is_some(), "the failed run says why");
    assert_eq!(runs[1].0, "completed");
    assert_eq!(
        fx::count(
            &c,
            "SELECT count(*) FROM guests WHERE anonymized_at IS NULL AND created_at < '2021-01-01'"
        )
        .await,
        0
    );
    assert_eq!(
        fx::count(
            &c,
            "SELECT count(*) FROM (SELECT guest_id FROM retention.action_protocol
             WHERE action = 'guest_anonymized' GROUP BY 1 HAVING count(*) > 1) d"
        )
        .await,
        0
    );
}
