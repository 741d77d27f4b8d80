//! Busy and dead branch locks: a killed run's lock goes with its session at
//! once; a busy branch is waited for up to `--wait`, then skipped, named and
//! the run `partial` (the daemon retries at a later tick of the night); no
//! run that skipped work reports success; a batch waits for a row the POS
//! holds no longer than `batch.lock_timeout`; a plain VACUUM never
//! truncates the candidate lists, which would lock the next run's listing out.

mod common;

use std::time::{Duration, Instant};

use common::faults::{
    branch_with_overdue, pos_holds_reservation, retentiond_waits, spawn, tick_at, wait_until,
};
use common::{assert_anonymized, assert_untouched, expect_code, fx, stderr, stdout, TestDb};
use retentiond::model::{Action, RunStatus};
use tokio_postgres::Client;

/// Whether some session of this database holds the branch's advisory lock.
async fn branch_locked(c: &Client, branch: i64) -> bool {
    fx::count(
        c,
        &format!(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted
               AND classid::bigint = {} AND objid::bigint = {branch}
               AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            common::BRANCH_LOCK_CLASS
        ),
    )
    .await
        > 0
}

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
    c.execute(
        "SELECT pg_advisory_lock(retention.branch_lock_key($1))",
        &[&busy],
    )
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
async fn branch_locks_are_taken_in_order_up_to_the_first_one_held_elsewhere() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let first = fx::branch(&c, "Aachen", None).await;
    let busy = fx::branch(&c, "Bonn", None).await;
    let last = fx::branch(&c, "Köln", None).await;
    let holder = db.client().await;
    holder
        .execute(
            "SELECT pg_advisory_lock(retention.branch_lock_key($1))",
            &[&busy],
        )
        .await
        .unwrap();
    let taken: Vec<i64> = c
        .query_one(
            "SELECT retention_api.branch_try_lock_in_order($1)",
            &[&vec![last, busy, first, first]],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(taken, vec![first], "the branches before the held one, once");
    let holds: Vec<i64> = c
        .query_one(
            "SELECT coalesce(array_agg(l.branch_id ORDER BY l.branch_id), '{}')
             FROM retention.branch_locks l WHERE l.pid = pg_backend_pid()",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(holds, vec![first], "nothing after the held branch is taken");
}

#[tokio::test]
async fn a_run_skips_a_busy_branch_between_free_ones_and_takes_the_rest() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let (_, first_guest) = branch_with_overdue(&c, "Aachen", "Europe/Berlin").await;
    let (busy, busy_guest) = branch_with_overdue(&c, "Bonn", "Europe/Berlin").await;
    let (_, last_guest) = branch_with_overdue(&c, "Köln", "Europe/Berlin").await;
    c.execute(
        "SELECT pg_advisory_lock(retention.branch_lock_key($1))",
        &[&busy],
    )
    .await
    .unwrap();
    let out = db.cli(&["run", "--yes", "--wait", "1s"]);
    expect_code(&out, 1);
    assert!(
        stdout(&out).contains(&format!("branch {busy}: skipped")),
        "{}",
        stdout(&out)
    );
    assert_anonymized(&c, first_guest).await;
    assert_anonymized(&c, last_guest).await;
    assert_untouched(&c, busy_guest).await;
}

#[tokio::test]
async fn a_run_waits_for_a_busy_branch_that_is_let_go_within_its_wait() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let (b, g) = branch_with_overdue(&c, "Köln", "Europe/Berlin").await;
    let holder = db.client().await;
    holder
        .execute(
            "SELECT pg_advisory_lock(retention.branch_lock_key($1))",
            &[&b],
        )
        .await
        .unwrap();
    let child = spawn(&db, &["run", "--yes", "--wait", "30s"], &[]);
    tokio::time::sleep(Duration::from_millis(800)).await;
    holder
        .execute(
            "SELECT pg_advisory_unlock(retention.branch_lock_key($1))",
            &[&b],
        )
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
        .execute(
            "SELECT pg_advisory_lock(retention.branch_lock_key($1))",
            &[&b],
        )
        .await
        .unwrap();
    assert!(tick("2026-11-25T01:31:00Z").await.is_empty());
    assert_untouched(&c, g).await;
    holder
        .execute(
            "SELECT pg_advisory_unlock(retention.branch_lock_key($1))",
            &[&b],
        )
        .await
        .unwrap();
    let reports = tick("2026-11-25T01:32:00Z").await;
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].total(Action::GuestAnonymized), 1);
}

#[tokio::test]
async fn no_run_reports_success_while_it_skipped_work() {
    // every branch busy: an error, not "nothing is due"
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let (b, _) = branch_with_overdue(&c, "Köln", "Europe/Berlin").await;
    c.execute(
        "SELECT pg_advisory_lock(retention.branch_lock_key($1))",
        &[&b],
    )
    .await
    .unwrap();
    let out = db.cli(&["run", "--yes", "--wait", "0s", "--format", "json"]);
    expect_code(&out, 1);
    assert!(
        stderr(&out).contains(&format!("branch(es) {b}")),
        "{}",
        stderr(&out)
    );
    // recorded like every run that skipped work: partial, the branch named
    let (status, finished): (String, bool) = c
        .query_one(
            "SELECT status, finished_at IS NOT NULL FROM retention.runs",
            &[],
        )
        .await
        .map(|r| (r.get(0), r.get(1)))
        .unwrap();
    assert_eq!(
        (status.as_str(), finished),
        (RunStatus::Partial.as_str(), true)
    );
    let skipped: serde_json::Value = c
        .query_one(
            "SELECT details -> 'skipped' FROM retention.action_protocol
             WHERE action = 'run_finished'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(skipped, serde_json::json!([b]));
}

#[tokio::test]
async fn a_batch_waiting_for_a_row_the_pos_holds_gives_up_after_its_lock_timeout() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let (_, g) = branch_with_overdue(&c, "Köln", "Europe/Berlin").await;
    // the POS holds the guest's reservation past the end of the run
    let holder = pos_holds_reservation(&db, &c, g).await;
    let mut child = spawn(
        &db,
        &["run", "--yes", "--format", "json"],
        &[("RETENTIOND__BATCH__LOCK_TIMEOUT", "5s")],
    );
    wait_until("the batch waits", Duration::from_secs(20), async || {
        retentiond_waits(&c).await
    })
    .await;
    // a batch whose lock timeout was not in force would wait for the POS
    wait_until("the run ends", Duration::from_secs(60), async || {
        child.try_wait().unwrap().is_some()
    })
    .await;
    let out = child.wait_with_output().unwrap();
    // a guest left for the next run is no failure: the POS was busy
    expect_code(&out, 0);
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(report["remaining"], 1, "{report}");
    assert_eq!(report["status"], "partial", "{report}");
    assert_untouched(&c, g).await;
    holder.batch_execute("ROLLBACK").await.unwrap();
}

#[tokio::test]
async fn vacuum_keeps_the_emptied_candidate_lists_pages_and_the_next_listing_reuses_them() {
    // A truncation would hold the table's ACCESS EXCLUSIVE lock, and the
    // next run's listing and batches would wait behind it.
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let (b, g) = branch_with_overdue(&c, "Köln", "Europe/Berlin").await;
    let pages = "SELECT pg_relation_size('retention.run_candidates')
                        / current_setting('block_size')::bigint";
    expect_code(&db.cli(&["run", "--yes"]), 0);
    assert_anonymized(&c, g).await;
    assert_eq!(
        fx::count(&c, "SELECT count(*) FROM retention.run_candidates").await,
        0,
        "the run deleted its list"
    );
    let listed = fx::count(&c, pages).await;
    assert!(listed > 0, "the run's list took a page");
    c.batch_execute("VACUUM retention.run_candidates")
        .await
        .unwrap();
    assert_eq!(fx::count(&c, pages).await, listed, "no page was cut off");
    let next = fx::guest(&c, b, common::day("2020-01-01")).await;
    fx::sale(&c, next, common::day("2020-01-01")).await;
    expect_code(&db.cli(&["run", "--yes"]), 0);
    assert_anonymized(&c, next).await;
    assert_eq!(
        fx::count(&c, pages).await,
        listed,
        "the next list filled the kept page"
    );
}
