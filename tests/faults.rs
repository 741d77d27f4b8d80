//! Faults, each provoked on a real PostgreSQL: killed clients, crashed
//! nights, stops during long statements, hung statements and the watchdog,
//! concurrent changes during a batch, nights outside their window, unknown
//! time zones, input that used to panic, and mails that cannot be built.

mod common;

use std::io::Read;
use std::net::TcpListener;
use std::os::unix::net::UnixDatagram;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use common::{
    assert_anonymized, assert_untouched, day, expect_code, fx, manual, stderr, stdout, TestDb,
};
use retentiond::clock::FixedClock;
use retentiond::db::runs::branch_lock_key;
use retentiond::model::{Action, RunStatus};
use retentiond::retention::run::{RunReport, Silent};
use retentiond::schedule::{nightly, pending};
use retentiond::settings::Settings;
use tokio_postgres::Client;
use tokio_util::sync::CancellationToken;

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// One tick of the daemon's scheduler at `at`, with [`settings`].
async fn tick_at(db: &TestDb, at: &str) -> Vec<RunReport> {
    nightly::tick(
        &db.pool(),
        &settings(db),
        None,
        &FixedClock(utc(at)),
        &Silent,
        &CancellationToken::new(),
    )
    .await
    .unwrap()
}

/// Settings for runs of the library; the guard lets one overdue guest go.
fn settings(db: &TestDb) -> Settings {
    common::settings(db, "size = \"100\"\n[schedule]\nguard = \"1\"\n")
}

/// A branch in `tz` with a guest period, automatic deletion on, and one
/// overdue guest (a sale in 2020, three years); returns (branch, guest).
async fn branch_with_overdue(c: &Client, name: &str, tz: &str) -> (i64, i64) {
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

async fn wait_until(what: &str, within: Duration, mut done: impl AsyncFnMut() -> bool) {
    let start = Instant::now();
    while !done().await {
        assert!(start.elapsed() < within, "{what}: not within {within:?}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Whether some session of this database holds the branch's advisory lock.
async fn branch_locked(c: &Client, branch: i64) -> bool {
    fx::count(
        c,
        &format!(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted
               AND classid::bigint = {} AND objid::bigint = {branch}
               AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            retentiond::db::runs::BRANCH_LOCK_CLASS
        ),
    )
    .await
        > 0
}

/// Whether a retentiond session of this database waits for a lock.
async fn retentiond_waits(c: &Client) -> bool {
    fx::count(
        c,
        "SELECT count(*) FROM pg_stat_activity
         WHERE application_name = 'retentiond' AND datname = current_database()
           AND wait_event_type = 'Lock'",
    )
    .await
        > 0
}

fn spawn(db: &TestDb, args: &[&str], env: &[(&str, &str)]) -> Child {
    db.command(args, env)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start retentiond")
}

/// SIGTERM; asserts the exit within 5 s; returns the code and stderr.
fn stop_within_five_seconds(child: &mut Child) -> (Option<i32>, String) {
    let status = common::terminate(child, Duration::from_secs(5));
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
fn night_began_a_minute_ago() -> String {
    (Utc::now() - chrono::Duration::minutes(1))
        .format("%H:%M")
        .to_string()
}

// --- 1. dead clients lose their locks at once ------------------------------

#[tokio::test]
async fn a_killed_run_loses_its_branch_lock_within_seconds_and_a_rerun_does_everything() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let (b, g) = branch_with_overdue(&c, "Köln", "Europe/Berlin").await;
    // the listing blocks behind this lock: the run's session is mid-statement
    let mut holder = db.client().await;
    let tx = holder.transaction().await.unwrap();
    tx.batch_execute("LOCK TABLE retention.run_candidates IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    let mut child = spawn(&db, &["run", "--yes"], &[]);
    wait_until(
        "the run waits on the listing",
        Duration::from_secs(20),
        async || retentiond_waits(&c).await && branch_locked(&c, b).await,
    )
    .await;
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    // the server notices the dead client while the statement still waits
    wait_until(
        "the killed run's lock is released",
        Duration::from_secs(5),
        async || !branch_locked(&c, b).await,
    )
    .await;
    tx.rollback().await.unwrap();
    let out = db.cli(&["run", "--yes", "--wait", "0s"]);
    expect_code(&out, 0);
    assert_anonymized(&c, g).await;
}

#[tokio::test]
async fn a_run_that_skips_a_busy_branch_is_partial_names_it_and_exits_1() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let (busy, busy_guest) = branch_with_overdue(&c, "Köln", "Europe/Berlin").await;
    let (_, free_guest) = branch_with_overdue(&c, "Bonn", "Europe/Berlin").await;
    c.execute("SELECT pg_advisory_lock($1)", &[&branch_lock_key(busy)])
        .await
        .unwrap();
    let started = Instant::now();
    let out = db.cli(&["run", "--yes", "--wait", "1s"]);
    assert!(started.elapsed() >= Duration::from_secs(1), "it waited");
    expect_code(&out, 1);
    assert!(
        stdout(&out).contains(&format!("branch {busy}: skipped")),
        "{}",
        stdout(&out)
    );
    let err = stderr(&out);
    assert!(
        err.contains(&format!("branch(es) {busy} were skipped")),
        "{err}"
    );
    assert_anonymized(&c, free_guest).await;
    assert_untouched(&c, busy_guest).await;
    let row = c
        .query_one(
            "SELECT r.status, p.details->'skipped'
             FROM retention.runs r
             JOIN retention.action_protocol p ON p.run_id = r.id AND p.action = 'run_finished'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "partial");
    assert_eq!(
        row.get::<_, serde_json::Value>(1),
        serde_json::json!([busy])
    );
}

#[tokio::test]
async fn a_run_waits_for_a_busy_branch_that_is_let_go_within_its_wait() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let (b, g) = branch_with_overdue(&c, "Köln", "Europe/Berlin").await;
    let holder = db.client().await;
    holder
        .execute("SELECT pg_advisory_lock($1)", &[&branch_lock_key(b)])
        .await
        .unwrap();
    let child = spawn(&db, &["run", "--yes", "--wait", "30s"], &[]);
    tokio::time::sleep(Duration::from_millis(800)).await;
    holder
        .execute("SELECT pg_advisory_unlock($1)", &[&branch_lock_key(b)])
        .await
        .unwrap();
    let out = child.wait_with_output().unwrap();
    expect_code(&out, 0);
    assert_anonymized(&c, g).await;
}

#[tokio::test]
async fn the_daemon_retries_a_busy_branch_at_a_later_tick_of_the_same_night() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let (b, g) = branch_with_overdue(&c, "Köln", "Europe/Berlin").await;
    let tick = async |at: &str| tick_at(&db, at).await;
    let holder = db.client().await;
    holder
        .execute("SELECT pg_advisory_lock($1)", &[&branch_lock_key(b)])
        .await
        .unwrap();
    assert!(tick("2026-11-25T01:31:00Z").await.is_empty());
    assert_untouched(&c, g).await;
    holder
        .execute("SELECT pg_advisory_unlock($1)", &[&branch_lock_key(b)])
        .await
        .unwrap();
    let reports = tick("2026-11-25T01:32:00Z").await;
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].total(Action::GuestAnonymized), 1);
}

// --- 2. a crashed night is retried the same night --------------------------

/// A scheduled run left `running` by a process that died, holding no lock.
async fn crashed_night(c: &Client, branch: i64, night: &str) -> i64 {
    c.query_one(
        "INSERT INTO retention.runs (kind, actor, branches, night_branch_id, night, cutoff, started_at)
         VALUES ('scheduled', 'retentiond', ARRAY[$1::bigint], $1, $2::text::date, now(), now())
         RETURNING id",
        &[&branch, &night],
    )
    .await
    .unwrap()
    .get(0)
}

#[tokio::test]
async fn a_crashed_night_is_marked_interrupted_and_retried_the_same_night() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let (b, g) = branch_with_overdue(&c, "Köln", "Europe/Berlin").await;
    let dead = crashed_night(&c, b, "2026-11-25").await;
    let reports = tick_at(&db, "2026-11-25T02:00:00Z").await;
    assert_eq!(reports.len(), 1, "the night runs again");
    assert_anonymized(&c, g).await;
    let status: String = c
        .query_one("SELECT status FROM retention.runs WHERE id = $1", &[&dead])
        .await
        .unwrap()
        .get(0);
    assert_eq!(status, "interrupted");
    let marked = fx::count(
        &c,
        &format!(
            "SELECT count(*) FROM retention.action_protocol
             WHERE action = 'run_finished' AND run_id = {dead}
               AND details->>'status' = 'interrupted' AND (details->>'stale')::boolean"
        ),
    )
    .await;
    assert_eq!(marked, 1, "the dead run gets its run_finished row");
}

#[tokio::test]
async fn status_shows_a_run_that_died_and_an_interrupted_night() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let (b, _) = branch_with_overdue(&c, "Köln", "Europe/Berlin").await;
    let dead = crashed_night(&c, b, "2026-11-25").await;
    let out = db.cli(&["status", "--format", "json"]);
    let text = expect_code(&out, 3);
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["stale_runs"][0]["id"], dead);
    assert!(
        json["attention"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a.as_str().unwrap().contains("died without finishing")),
        "{json}"
    );
    c.execute(
        "UPDATE retention.runs SET status = 'interrupted', finished_at = now() WHERE id = $1",
        &[&dead],
    )
    .await
    .unwrap();
    let out = db.cli(&["status", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&expect_code(&out, 3)).unwrap();
    assert_eq!(json["interrupted_last_run"], serde_json::json!([b]));
}

// --- 3. finish before letting go -------------------------------------------

#[tokio::test]
async fn the_run_end_is_recorded_while_its_branch_lock_is_held() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let (b, _) = branch_with_overdue(&c, "Köln", "Europe/Berlin").await;
    // records, at the moment a run's end is written, whether the writing
    // session still holds the branch lock
    c.batch_execute(&format!(
        "CREATE TABLE public.finish_seen (lock_held boolean);
         CREATE FUNCTION public.note_finish() RETURNS trigger LANGUAGE plpgsql AS $f$
         BEGIN
             INSERT INTO public.finish_seen
             SELECT EXISTS (SELECT 1 FROM pg_locks
                            WHERE locktype = 'advisory' AND pid = pg_backend_pid()
                              AND objid::bigint = NEW.branches[1]
                              AND classid::bigint = {});
             RETURN NEW;
         END $f$;
         CREATE TRIGGER note_finish AFTER UPDATE OF status ON retention.runs
         FOR EACH ROW WHEN (NEW.status <> 'running') EXECUTE FUNCTION public.note_finish();",
        retentiond::db::runs::BRANCH_LOCK_CLASS
    ))
    .await
    .unwrap();
    expect_code(&db.cli(&["run", "--yes", "--branch", &b.to_string()]), 0);
    let seen: Vec<bool> = c
        .query("SELECT lock_held FROM public.finish_seen", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(seen, [true]);
}

#[tokio::test]
async fn a_run_whose_record_was_taken_from_it_reports_an_error() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let (b, _) = branch_with_overdue(&c, "Köln", "Europe/Berlin").await;
    // another process marks the run as ended while it works
    c.batch_execute(
        "CREATE FUNCTION public.steal() RETURNS trigger LANGUAGE plpgsql AS $f$
         BEGIN
             UPDATE retention.runs SET status = 'interrupted' WHERE id = NEW.run_id;
             RETURN NEW;
         END $f$;
         CREATE TRIGGER steal AFTER INSERT ON retention.action_protocol
         FOR EACH ROW WHEN (NEW.action = 'guest_anonymized') EXECUTE FUNCTION public.steal();",
    )
    .await
    .unwrap();
    let s = settings(&db);
    let pool = db.pool();
    let at = day("2026-11-25");
    let prepared = common::prepare(&pool, &[b], at).await;
    let opts = manual(&s);
    let result = prepared
        .execute(
            &pool,
            &opts,
            &FixedClock(at),
            &Silent,
            &CancellationToken::new(),
        )
        .await;
    let e = result
        .expect_err("the end could not be recorded")
        .to_string();
    assert!(e.contains("no longer recorded as running"), "{e}");
}

// --- 4. every stop is bounded ----------------------------------------------

/// Holds an exclusive lock on the guests table: every statement that reads
/// it waits.
async fn block_guests(db: &TestDb) -> (Client, ()) {
    let holder = db.client().await;
    holder
        .batch_execute("BEGIN; LOCK TABLE public.guests IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    (holder, ())
}

#[tokio::test]
async fn sigterm_during_a_long_listing_ends_the_run_within_five_seconds() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let (_, g) = branch_with_overdue(&c, "Köln", "Europe/Berlin").await;
    let (holder, ()) = block_guests(&db).await;
    let mut child = spawn(&db, &["run", "--yes"], &[]);
    wait_until("the run waits", Duration::from_secs(20), async || {
        retentiond_waits(&c).await
    })
    .await;
    let (code, _) = stop_within_five_seconds(&mut child);
    assert_eq!(code, Some(1));
    holder.batch_execute("ROLLBACK").await.unwrap();
    assert_untouched(&c, g).await;
}

#[tokio::test]
async fn sigterm_during_a_waiting_batch_rolls_it_back_and_ends_within_five_seconds() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let (b, g) = branch_with_overdue(&c, "Köln", "Europe/Berlin").await;
    fx::reservation(&c, g, day("2020-01-01"), day("2020-01-01"), false).await;
    // the POS holds the guest's reservation: the batch waits for it
    let holder = db.client().await;
    holder
        .batch_execute(&format!(
            "BEGIN; SELECT 1 FROM reservations WHERE guest_id = {g} FOR UPDATE"
        ))
        .await
        .unwrap();
    let mut child = spawn(
        &db,
        &["run", "--yes"],
        &[("RETENTIOND__BATCH__LOCK_TIMEOUT", "60s")],
    );
    wait_until("the batch waits", Duration::from_secs(20), async || {
        retentiond_waits(&c).await
    })
    .await;
    let (code, _) = stop_within_five_seconds(&mut child);
    assert_eq!(code, Some(1));
    holder.batch_execute("ROLLBACK").await.unwrap();
    assert_untouched(&c, g).await;
    let status: String = c
        .query_one("SELECT status FROM retention.runs", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(status, "interrupted");
    let _ = b;
}

#[tokio::test]
async fn sigterm_during_a_long_statement_of_the_daemon_ends_it_within_five_seconds() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    branch_with_overdue(&c, "Köln", "UTC").await;
    let (holder, ()) = block_guests(&db).await;
    let nightly_at = night_began_a_minute_ago();
    let mut child = spawn(
        &db,
        &["serve"],
        &[
            ("RETENTIOND__SCHEDULE__NIGHTLY_AT", nightly_at.as_str()),
            ("RETENTIOND__SCHEDULE__TICK", "1s"),
        ],
    );
    wait_until(
        "the daemon's run waits",
        Duration::from_secs(20),
        async || retentiond_waits(&c).await,
    )
    .await;
    let (code, _) = stop_within_five_seconds(&mut child);
    assert_eq!(code, Some(0));
    holder.batch_execute("ROLLBACK").await.unwrap();
}

#[tokio::test]
async fn sigterm_during_an_export_ends_it_within_five_seconds_without_a_file() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let (_, g) = branch_with_overdue(&c, "Köln", "Europe/Berlin").await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("guest.zip");
    let (holder, ()) = block_guests(&db).await;
    let mut child = spawn(
        &db,
        &[
            "export",
            "--guest",
            &g.to_string(),
            "--out",
            out.to_str().unwrap(),
        ],
        &[],
    );
    wait_until("the export waits", Duration::from_secs(20), async || {
        retentiond_waits(&c).await
    })
    .await;
    let (code, _) = stop_within_five_seconds(&mut child);
    assert_eq!(code, Some(1));
    holder.batch_execute("ROLLBACK").await.unwrap();
    assert!(!out.exists(), "no export was handed out");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "no temporary file is left"
    );
}

#[tokio::test]
async fn sigterm_during_a_send_to_a_silent_server_ends_the_flush_within_five_seconds() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    // a server that accepts and never answers: a send waits for mail.timeout
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let keep = std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in silent.incoming().take(4) {
            held.push(conn);
        }
        std::thread::sleep(Duration::from_secs(30));
    });
    c.execute(
        "INSERT INTO retention.mail_outbox (kind, locale, recipients, message_id, subject,
                                            body_text, body_html, created_at, next_attempt_at)
         VALUES ('test', 'de', ARRAY['manager@example.org'], '<m1@example.org>', 's', 't', 'h',
                 now(), now())",
        &[],
    )
    .await
    .unwrap();
    let url = format!("smtp://127.0.0.1:{port}");
    let mut child = spawn(
        &db,
        &["outbox", "flush"],
        &[
            ("RETENTIOND__MAIL__TRANSPORT", "smtp"),
            ("RETENTIOND__MAIL__SMTP_URL", url.as_str()),
            ("RETENTIOND__MAIL__TIMEOUT", "60s"),
        ],
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (code, _) = stop_within_five_seconds(&mut child);
    assert_eq!(code, Some(1));
    let row = c
        .query_one(
            "SELECT sent_at IS NULL AND failed_at IS NULL, attempts FROM retention.mail_outbox",
            &[],
        )
        .await
        .unwrap();
    assert!(row.get::<_, bool>(0), "the mail stays queued");
    assert_eq!(row.get::<_, i32>(1), 0, "an abandoned send is no attempt");
    drop(keep);
}

// --- 5. the watchdog proves progress ---------------------------------------

#[tokio::test]
async fn watchdog_pings_stop_while_a_statement_hangs_and_resume_after_it() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    branch_with_overdue(&c, "Köln", "UTC").await;
    let (holder, ()) = block_guests(&db).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let nightly_at = night_began_a_minute_ago();
    let mut child = spawn(
        &db,
        &["serve"],
        &[
            ("NOTIFY_SOCKET", path.to_str().unwrap()),
            ("WATCHDOG_USEC", "400000"),
            ("RETENTIOND__SCHEDULE__NIGHTLY_AT", nightly_at.as_str()),
            ("RETENTIOND__SCHEDULE__TICK", "1s"),
        ],
    );
    wait_until(
        "the daemon's run hangs",
        Duration::from_secs(20),
        async || retentiond_waits(&c).await,
    )
    .await;
    let pings_during = |socket: &UnixDatagram, span: Duration| {
        let start = Instant::now();
        let mut pings = 0;
        let mut buf = [0u8; 4096];
        while start.elapsed() < span {
            if let Ok(n) = socket.recv(&mut buf) {
                pings += String::from_utf8_lossy(&buf[..n])
                    .matches("WATCHDOG=1")
                    .count();
            }
        }
        pings
    };
    // drain what came before the hang, then listen for two watchdog periods
    pings_during(&socket, Duration::from_millis(300));
    assert_eq!(
        pings_during(&socket, Duration::from_millis(1000)),
        0,
        "no heartbeat while the statement hangs"
    );
    holder.batch_execute("ROLLBACK").await.unwrap();
    assert!(
        pings_during(&socket, Duration::from_secs(3)) > 0,
        "heartbeats again once it moves"
    );
    let (code, _) = stop_within_five_seconds(&mut child);
    assert_eq!(code, Some(0));
}

#[tokio::test]
async fn a_watchdog_too_short_to_keep_is_a_clear_error() {
    let db = TestDb::migrated().await;
    let out = db.cli_env(&["serve"], &[("WATCHDOG_USEC", "1")]);
    expect_code(&out, 2);
    let err = stderr(&out);
    assert!(err.contains("WATCHDOG_USEC = 1"), "{err}");
    assert!(err.contains("WatchdogSec="), "{err}");
}

// --- 6. pool size ----------------------------------------------------------

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

// --- 7. the re-check is the candidate test ---------------------------------

#[tokio::test]
async fn a_guest_moved_to_another_branch_after_listing_is_kept() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let (a, g) = branch_with_overdue(&c, "Köln", "Europe/Berlin").await;
    let (other, _) = branch_with_overdue(&c, "Bonn", "Europe/Berlin").await;
    let s = settings(&db);
    let pool = db.pool();
    let at = day("2026-11-25");
    let prepared = common::prepare(&pool, &[a], at).await;
    // due in the other branch too, but the run holds only Köln's lock
    c.execute(
        "UPDATE guests SET branch_id = $2 WHERE id = $1",
        &[&g, &other],
    )
    .await
    .unwrap();
    let opts = manual(&s);
    let report = prepared
        .execute(
            &pool,
            &opts,
            &FixedClock(at),
            &Silent,
            &CancellationToken::new(),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(report.total(Action::GuestAnonymized), 0);
    assert_eq!(report.kept, 1);
    assert_untouched(&c, g).await;
}

#[tokio::test]
async fn a_reservation_rescheduled_while_the_batch_runs_keeps_its_guest() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let (b, g) = branch_with_overdue(&c, "Köln", "Europe/Berlin").await;
    let r = fx::reservation(&c, g, day("2020-01-01"), day("2020-01-01"), false).await;
    let s = settings(&db);
    let pool = db.pool();
    let at = day("2026-11-25");
    let prepared = common::prepare(&pool, &[b], at).await;
    // the POS reschedules the reservation into the future and commits
    // while the batch is under way
    let mut pos = db.client().await;
    let tx = pos.transaction().await.unwrap();
    tx.execute(
        "UPDATE reservations SET reserved_for = '2027-06-01' WHERE id = $1",
        &[&r],
    )
    .await
    .unwrap();
    let opts = manual(&s);
    let clock = FixedClock(at);
    let cancel = CancellationToken::new();
    let run = prepared.execute(&pool, &opts, &clock, &Silent, &cancel);
    let commit = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        tx.commit().await.unwrap();
    };
    let (report, ()) = tokio::join!(run, commit);
    let report = report.unwrap().unwrap();
    assert_eq!(report.total(Action::GuestAnonymized), 0);
    assert_eq!(report.kept, 1);
    assert_untouched(&c, g).await;
}

// --- 8. deletion only at night ---------------------------------------------

#[tokio::test]
async fn a_daemon_back_by_day_deletes_nothing_until_the_next_night() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let (b, g) = branch_with_overdue(&c, "Köln", "Europe/Berlin").await;
    let tick = async |at: &str| tick_at(&db, at).await;
    // 13:00 in Köln, after the night of the 24th ran
    c.execute(
        "INSERT INTO retention.runs (kind, actor, branches, night_branch_id, night, cutoff,
                                     started_at, finished_at, status)
         VALUES ('scheduled', 'retentiond', ARRAY[$1::bigint], $1, '2026-11-24', now(), now(),
                 now(), 'completed')",
        &[&b],
    )
    .await
    .unwrap();
    assert!(tick("2026-11-25T12:00:00Z").await.is_empty());
    assert_untouched(&c, g).await;
    // the window of the night of the 25th (02:30 to 05:30 CET) was missed
    let missed = nightly::missed_nights(
        &db.pool(),
        &settings(&db),
        &FixedClock(utc("2026-11-25T12:00:00Z")),
    )
    .await
    .unwrap();
    assert_eq!(missed.len(), 1);
    assert_eq!(missed[0].night.to_string(), "2026-11-25");
    // the next night's window: the catch-up
    let reports = tick("2026-11-26T01:35:00Z").await;
    assert_eq!(reports.len(), 1);
    assert_anonymized(&c, g).await;
    // and its last minute is no longer night
    add_due(&c, b).await;
    assert!(tick("2026-11-27T04:30:00Z").await.is_empty());
}

async fn add_due(c: &Client, branch: i64) -> i64 {
    let g = fx::guest(c, branch, day("2020-01-01")).await;
    fx::sale(c, g, day("2020-01-01")).await;
    g
}

#[tokio::test]
async fn the_pending_summary_says_when_a_night_was_missed() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let (b, _) = branch_with_overdue(&c, "Köln", "Europe/Berlin").await;
    c.execute(
        "UPDATE retention.branch_settings SET notify_addresses = ARRAY['manager@example.org'],
                                              locale = 'en'
         WHERE branch_id = $1",
        &[&b],
    )
    .await
    .unwrap();
    c.execute(
        "INSERT INTO retention.runs (kind, actor, branches, night_branch_id, night, cutoff,
                                     started_at, finished_at, status)
         VALUES ('scheduled', 'retentiond', ARRAY[$1::bigint], $1, '2026-11-24', now(), now(),
                 now(), 'completed')",
        &[&b],
    )
    .await
    .unwrap();
    let s = settings(&db);
    let notifier = retentiond::notify::Notifier::from_settings(&s).unwrap();
    let queued = pending::tick(
        &db.pool(),
        &s,
        &notifier,
        &FixedClock(utc("2026-11-25T07:00:00Z")),
    )
    .await
    .unwrap();
    assert_eq!(queued.len(), 1);
    let text: String = c
        .query_one("SELECT body_text FROM retention.mail_outbox", &[])
        .await
        .unwrap()
        .get(0);
    assert!(
        text.contains("the nightly deletion of the night of 2026-11-25 did not take place"),
        "{text}"
    );
}

// --- 9. one bad branch stops nothing else ----------------------------------

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

// --- 10. no panic from input -----------------------------------------------

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

// --- 11. mail --------------------------------------------------------------

#[tokio::test]
async fn a_mail_whose_recipient_no_longer_parses_is_failed_and_blocks_nothing() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    for (recipient, id) in [
        ("not an address", "<bad@x>"),
        ("manager@example.org", "<good@x>"),
    ] {
        c.execute(
            "INSERT INTO retention.mail_outbox (kind, locale, recipients, message_id, subject,
                                                body_text, body_html, created_at, next_attempt_at)
             VALUES ('test', 'de', ARRAY[$1], $2, 's', 't', 'h', now(), now())",
            &[&recipient, &id],
        )
        .await
        .unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let out = db.cli_env(
        &["outbox", "flush"],
        &[
            ("RETENTIOND__MAIL__TRANSPORT", "file"),
            ("RETENTIOND__MAIL__FILE_DIR", dir.path().to_str().unwrap()),
        ],
    );
    expect_code(&out, 1);
    assert!(stdout(&out).contains("delivered: 1"), "{}", stdout(&out));
    let states: Vec<(String, bool, bool)> = c
        .query(
            "SELECT message_id, sent_at IS NOT NULL, failed_at IS NOT NULL
             FROM retention.mail_outbox ORDER BY id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(
        states,
        [
            ("<bad@x>".to_string(), false, true),
            ("<good@x>".to_string(), true, false)
        ]
    );
    assert_eq!(
        fx::count(
            &c,
            "SELECT count(*) FROM retention.action_protocol WHERE action = 'mail_failed'"
        )
        .await,
        1
    );
    // the file transport leaves complete files only
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
    assert!(names[0].ends_with(".eml"), "{names:?}");
}

#[tokio::test]
async fn the_log_transport_masks_recipients_in_the_logged_mail() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    c.execute(
        "INSERT INTO retention.mail_outbox (kind, locale, recipients, message_id, subject,
                                            body_text, body_html, created_at, next_attempt_at)
         VALUES ('test', 'de', ARRAY['manager@example.org'], '<m@x>', 's', 't', 'h', now(), now())",
        &[],
    )
    .await
    .unwrap();
    let out = db.cli_env(
        &["outbox", "flush"],
        &[("RETENTIOND__MAIL__TRANSPORT", "log")],
    );
    expect_code(&out, 0);
    let log = stderr(&out);
    assert!(log.contains("m***@example.org"), "{log}");
    assert!(!log.contains("manager@example.org"), "{log}");
}

#[tokio::test]
async fn no_run_reports_success_while_it_skipped_work() {
    // every branch busy: an error, not "nothing is due"
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let (b, _) = branch_with_overdue(&c, "Köln", "Europe/Berlin").await;
    c.execute("SELECT pg_advisory_lock($1)", &[&branch_lock_key(b)])
        .await
        .unwrap();
    let out = db.cli(&["run", "--yes", "--wait", "0s"]);
    expect_code(&out, 1);
    let _ = RunStatus::Partial;
}

// --- done when: kill -9 at any moment, then a rerun ------------------------

#[tokio::test]
async fn kill_at_random_moments_then_a_rerun_anonymizes_every_due_guest_exactly_once() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let (b, _) = branch_with_overdue(&c, "Köln", "Europe/Berlin").await;
    c.execute(
        "WITH g AS (
             INSERT INTO guests (branch_id, first_name, last_name, email, created_at)
             SELECT $1, 'Erika', 'Mustermann', 'erika@example.com', '2019-01-01'
             FROM generate_series(1, 2000)
             RETURNING id, branch_id)
         INSERT INTO sales (guest_id, branch_id, sold_at, total_cents)
         SELECT id, branch_id, '2019-01-01', 100 FROM g",
        &[&b],
    )
    .await
    .unwrap();
    c.execute(
        "UPDATE retention.branch_settings SET notify_addresses = ARRAY['manager@example.org']
         WHERE branch_id = $1",
        &[&b],
    )
    .await
    .unwrap();
    let env = [
        ("RETENTIOND__BATCH__SIZE", "50"),
        ("RETENTIOND__BATCH__PAUSE", "10ms"),
        ("RETENTIOND__MAIL__TRANSPORT", "log"),
    ];
    // kills while planning, mid-batch, finishing or delivering the summary
    let mut seed = std::process::id() as u64;
    for _ in 0..6 {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let after = Duration::from_millis(30 + (seed >> 33) % 900);
        let mut child = spawn(&db, &["run", "--yes", "--wait", "5s"], &env);
        tokio::time::sleep(after).await;
        child.kill().unwrap();
        child.wait().unwrap();
    }
    let out = db.cli_env(&["run", "--yes", "--wait", "10s"], &env);
    expect_code(&out, 0);
    let r = c
        .query_one(
            "SELECT count(*) FILTER (WHERE anonymized_at IS NULL),
                    count(*) FILTER (WHERE anonymized_at IS NOT NULL AND (first_name IS NOT NULL
                                     OR email IS NOT NULL OR last_name <> 'DSGVO')),
                    (SELECT count(*) FROM (
                        SELECT guest_id FROM retention.action_protocol
                        WHERE action = 'guest_anonymized'
                        GROUP BY guest_id HAVING count(*) <> 1) twice),
                    (SELECT count(*) FROM retention.action_protocol WHERE action = 'guest_anonymized')
             FROM guests",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(r.get::<_, i64>(0), 0, "every due guest is anonymized");
    assert_eq!(r.get::<_, i64>(1), 0, "no half-anonymized guest");
    assert_eq!(r.get::<_, i64>(2), 0, "no guest anonymized twice");
    assert_eq!(r.get::<_, i64>(3), 2001);
    // every killed run is on record as ended
    assert_eq!(
        fx::count(
            &c,
            "SELECT count(*) FROM retention.runs WHERE status = 'running'"
        )
        .await,
        0
    );
}
