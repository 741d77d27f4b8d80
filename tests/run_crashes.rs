//! Runs killed, stopped or racing each other: SIGKILL mid-run leaves no
//! half-anonymized guest and a rerun completes; SIGTERM commits the batch
//! and exits within five seconds; concurrent runs never touch a guest twice.

mod common;

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::run::world;
use common::{expect_code, fx, terminate, TestDb};
use tokio_postgres::Client;

/// `count` guests, all overdue, inserted in one statement.
async fn many_overdue(c: &Client, branch: i64, count: i64) {
    c.execute(
        "WITH g AS (
             INSERT INTO guests (branch_id, first_name, last_name, email, phone, street, zip, city,
                                 birthday, notes, created_at)
             SELECT $1, 'Erika', 'Mustermann', 'erika@example.com', '+49 30 1234567',
                    'Heidestraße 17', '51147', 'Köln', '1964-08-12', 'Allergie: Nüsse', '2019-01-01'
             FROM generate_series(1, $2::bigint)
             RETURNING id, branch_id)
         INSERT INTO sales (guest_id, branch_id, sold_at, total_cents)
         SELECT id, branch_id, '2019-01-01', 100 FROM g",
        &[&branch, &count],
    )
    .await
    .unwrap();
}

/// A killed process's backend may take a moment to notice and drop its locks.
async fn wait_for_no_branch_locks(c: &Client) {
    let start = Instant::now();
    while fx::count(
        c,
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'
           AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    .await
        > 0
    {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "locks of a killed run remain"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Every guest is either fully anonymized with exactly one protocol row, or
/// untouched without one.
async fn assert_never_half_done(c: &Client) -> (i64, i64) {
    let r = c
        .query_one(
            "SELECT count(*) FILTER (WHERE g.anonymized_at IS NOT NULL),
                    count(*) FILTER (WHERE g.anonymized_at IS NULL),
                    count(*) FILTER (WHERE NOT (
                        (g.anonymized_at IS NOT NULL AND g.first_name IS NULL AND g.email IS NULL
                         AND g.phone IS NULL AND g.street IS NULL AND g.birthday IS NULL
                         AND g.notes IS NULL AND g.last_name = 'DSGVO'
                         AND (SELECT count(*) FROM retention.action_protocol p
                              WHERE p.guest_id = g.id AND p.action = 'guest_anonymized') = 1)
                        OR
                        (g.anonymized_at IS NULL AND g.first_name = 'Erika'
                         AND g.email = 'erika@example.com' AND g.last_name = 'Mustermann'
                         AND NOT EXISTS (SELECT 1 FROM retention.action_protocol p
                                         WHERE p.guest_id = g.id))))
             FROM guests g",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(r.get::<_, i64>(2), 0, "half-anonymized guests");
    (r.get(0), r.get(1))
}

fn spawn_run(db: &TestDb, env: &[(&str, &str)]) -> Child {
    db.command(&["run", "--yes"], env)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start retentiond run")
}

async fn wait_for_anonymized(c: &Client, at_least: i64) {
    let start = Instant::now();
    while fx::count(
        c,
        "SELECT count(*) FROM guests WHERE anonymized_at IS NOT NULL",
    )
    .await
        < at_least
    {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "run made no progress"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn sigkill_mid_run_leaves_no_half_guest_and_a_rerun_completes() {
    let w = world().await;
    many_overdue(&w.c, w.branch, 3000).await;
    let mut child = spawn_run(
        &w.db,
        &[
            ("RETENTIOND__BATCH__SIZE", "50"),
            ("RETENTIOND__BATCH__PAUSE", "20ms"),
        ],
    );
    wait_for_anonymized(&w.c, 200).await;
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    wait_for_no_branch_locks(&w.c).await;
    let (done, left) = assert_never_half_done(&w.c).await;
    assert!(
        done >= 200 && left > 0,
        "killed mid-run: {done} done, {left} left"
    );

    let out =
        w.db.cli_env(&["run", "--yes"], &[("RETENTIOND__BATCH__PAUSE", "0s")]);
    expect_code(&out, 0);
    let (done, left) = assert_never_half_done(&w.c).await;
    assert_eq!((done, left), (3000, 0));
    // the killed run is recorded as interrupted by the next one
    let statuses: Vec<String> =
        w.c.query("SELECT status FROM retention.runs ORDER BY id", &[])
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
    assert_eq!(statuses, ["interrupted", "completed"]);
}

#[tokio::test]
async fn sigterm_commits_the_batch_and_exits_within_five_seconds() {
    let w = world().await;
    many_overdue(&w.c, w.branch, 2000).await;
    let mut child = spawn_run(
        &w.db,
        &[
            ("RETENTIOND__BATCH__SIZE", "100"),
            ("RETENTIOND__BATCH__PAUSE", "3s"),
        ],
    );
    wait_for_anonymized(&w.c, 100).await;
    let status = terminate(&mut child, Duration::from_secs(5));
    assert_eq!(status.code(), Some(1), "an interrupted run exits 1");
    let (done, left) = assert_never_half_done(&w.c).await;
    assert_eq!(done % 100, 0, "whole batches only");
    assert!(left > 0);
    let r =
        w.c.query_one("SELECT status, remaining FROM retention.runs", &[])
            .await
            .unwrap();
    assert_eq!(r.get::<_, String>(0), "interrupted");
    assert_eq!(r.get::<_, i64>(1), left);
}

#[tokio::test]
async fn concurrent_runs_never_touch_a_guest_twice() {
    let w = world().await;
    // several branches so that the runs interleave instead of one waiting
    let mut branches = vec![w.branch];
    for name in ["Bonn", "Aachen", "Essen"] {
        let b = fx::branch(&w.c, name, Some(w.branch)).await;
        branches.push(b);
    }
    for b in &branches {
        many_overdue(&w.c, *b, 400).await;
    }
    let env = [
        ("RETENTIOND__BATCH__SIZE", "25"),
        ("RETENTIOND__BATCH__PAUSE", "0s"),
    ];
    let children: Vec<Child> = (0..3).map(|_| spawn_run(&w.db, &env)).collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.code() == Some(0) || out.status.code() == Some(1),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // whatever the interleaving: one protocol row per action per guest
    let dupes = fx::count(
        &w.c,
        "SELECT count(*) FROM (SELECT guest_id, action FROM retention.action_protocol
                                WHERE guest_id IS NOT NULL GROUP BY 1, 2 HAVING count(*) > 1) d",
    )
    .await;
    assert_eq!(dupes, 0);
    assert_never_half_done(&w.c).await;
    // a run that found a branch busy skipped it; a last run does the rest once
    let out = w.db.cli(&["run", "--yes"]);
    expect_code(&out, 0);
    assert_eq!(assert_never_half_done(&w.c).await, (1600, 0));
}
