//! Fixtures and probes of the faults_* tests: a branch with an overdue
//! guest, the scheduler's tick, the binary as a child process, and waiting
//! for a condition with a bound.

use std::io::Read;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use retentiond::retention::night;
use retentiond::retention::run::RunReport;
use retentiond::settings::Settings;
use tokio_postgres::Client;

use super::{day, fx, TestDb};

pub fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// One tick of the daemon's scheduler at `at`, with [`settings`].
pub async fn tick_at(db: &TestDb, at: &str) -> Vec<RunReport> {
    let cx = super::context(settings(db), utc(at));
    night::run_due_nights(&cx, None).await.unwrap()
}

/// Settings for runs of the library; the guard lets one overdue guest go.
pub fn settings(db: &TestDb) -> Settings {
    super::settings(db, "size = \"100\"\n[schedule]\nguard = \"1\"\n")
}

/// A branch in `tz` with a guest period, automatic deletion on, and one
/// overdue guest (a sale in 2020, three years); returns (branch, guest).
pub async fn branch_with_overdue(c: &Client, name: &str, tz: &str) -> (i64, i64) {
    let b = fx::branch(c, name, None).await;
    c.execute(
        "UPDATE branches SET time_zone = $2 WHERE id = $1",
        &[&b, &tz],
    )
    .await
    .unwrap();
    fx::policy(c, b, "guest", "3 years").await;
    fx::branch_settings_auto_delete(c, b).await;
    let g = fx::guest(c, b, day("2020-01-01")).await;
    fx::sale(c, g, day("2020-01-01")).await;
    (b, g)
}

/// The POS holding an overdue guest's reservation (`FOR UPDATE`, its
/// transaction left open): a batch locking it `FOR SHARE` waits for it.
pub async fn pos_holds_reservation(db: &TestDb, c: &Client, guest: i64) -> Client {
    fx::reservation(c, guest, day("2020-01-01"), day("2020-01-01"), false).await;
    let holder = db.client().await;
    holder
        .batch_execute(&format!(
            "BEGIN; SELECT 1 FROM reservations WHERE guest_id = {guest} FOR UPDATE"
        ))
        .await
        .unwrap();
    holder
}

pub async fn wait_until(what: &str, within: Duration, mut done: impl AsyncFnMut() -> bool) {
    let start = Instant::now();
    while !done().await {
        assert!(start.elapsed() < within, "{what}: not within {within:?}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Whether a retentiond session of this database waits for a lock.
pub async fn retentiond_waits(c: &Client) -> bool {
    fx::count(
        c,
        "SELECT count(*) FROM pg_stat_activity
         WHERE application_name = 'retentiond' AND datname = current_database()
           AND wait_event_type = 'Lock'",
    )
    .await
        > 0
}

pub fn spawn(db: &TestDb, args: &[&str], env: &[(&str, &str)]) -> Child {
    db.command(args, env)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start retentiond")
}

/// SIGTERM; asserts the exit within 5 s; returns the code and stderr.
pub fn stop_within_five_seconds(child: &mut Child) -> (Option<i32>, String) {
    let status = super::terminate(child, Duration::from_secs(5));
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    (status.code(), err)
}

/// A nightly time a minute ago in UTC: a daemon started now is inside the
/// night's window of a branch in UTC.
pub fn night_began_a_minute_ago() -> String {
    (Utc::now() - chrono::Duration::minutes(1))
        .format("%H:%M")
        .to_string()
}

/// Holds an exclusive lock on the guests table: every statement that reads
/// it waits.
pub async fn block_guests(db: &TestDb) -> (Client, ()) {
    let holder = db.client().await;
    holder
        .batch_execute("BEGIN; LOCK TABLE public.guests IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    (holder, ())
}
