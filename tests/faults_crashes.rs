//! Crashed runs: a night left `running` by a dead process is marked
//! interrupted and retried the same night, and `status` says so; a run
//! records its end while it still holds its branch lock; kill -9 at any
//! moment, then a rerun, anonymizes every due guest exactly once.

mod common;

use std::time::Duration;

use common::faults::{branch_with_overdue, settings, spawn, tick_at};
use common::{assert_anonymized, day, expect_code, fx, manual, TestDb};
use tokio_postgres::Client;

// --- a crashed night is retried the same night ------------------------------

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
async fn a_dead_run_over_several_branches_is_marked_once_by_its_lowest_branch() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let (low, g1) = branch_with_overdue(&c, "Aachen", "Europe/Berlin").await;
    let (high, g2) = branch_with_overdue(&c, "Köln", "Europe/Berlin").await;
    let dead: i64 = c
        .query_one(
            "INSERT INTO retention.runs (kind, actor, branches, cutoff, started_at)
             VALUES ('manual', 'admin', ARRAY[$2::bigint, $1::bigint], now(), now())
             RETURNING id",
            &[&low, &high],
        )
        .await
        .unwrap()
        .get(0);
    let out = db.cli(&["run", "--yes"]);
    expect_code(&out, 0);
    assert_anonymized(&c, g1).await;
    assert_anonymized(&c, g2).await;
    let found_by: Vec<Option<String>> = c
        .query(
            "SELECT details->>'found_by_branch' FROM retention.action_protocol
             WHERE action = 'run_finished' AND run_id = $1",
            &[&dead],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        found_by,
        vec![Some(low.to_string())],
        "one row, by the lowest branch"
    );
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

// --- finish before letting go -----------------------------------------------

#[tokio::test]
async fn the_run_end_is_recorded_while_its_branch_lock_is_held() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let (b, _) = branch_with_overdue(&c, "Köln", "Europe/Berlin").await;
    // records, at the moment a run's end is written, whether the writing
    // session still holds the branch lock
    c.batch_execute(&format!(
        "CREATE TABLE public.finish_seen (lock_held boolean);
         GRANT INSERT ON public.finish_seen TO PUBLIC;
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
        common::BRANCH_LOCK_CLASS
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
    let opts = manual(&s);
    let cx = common::context(s, day("2026-11-25"));
    let prepared = common::prepare(&cx, &[b]).await;
    let result = prepared.execute(&cx, &opts).await;
    let e = result
        .expect_err("the end could not be recorded")
        .to_string();
    assert!(e.contains("no longer recorded as running"), "{e}");
}

// --- kill -9 at any moment, then a rerun ------------------------------------

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
    // and with the guests its protocol rows show, killed or not
    let miscounted = fx::count(
        &c,
        "SELECT count(*) FROM retention.runs r
         WHERE coalesce((SELECT sum(n::bigint) FROM jsonb_each(r.counts -> 'guest_anonymized') t,
                                LATERAL (SELECT t.value::text AS n) v), 0)
            <> (SELECT count(*) FROM retention.action_protocol p
                WHERE p.run_id = r.id AND p.action = 'guest_anonymized')",
    )
    .await;
    assert_eq!(miscounted, 0, "a run's counts are its protocol rows");
}

#[tokio::test]
async fn a_dead_run_is_recorded_with_the_counts_its_protocol_rows_show() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let (b, _) = branch_with_overdue(&c, "Köln", "Europe/Berlin").await;
    // a run that committed three batches' rows and then lost its connection
    let run: i64 = c
        .query_one(
            "INSERT INTO retention.runs (kind, actor, branches, cutoff, started_at)
             VALUES ('manual', 'alice', ARRAY[$1]::bigint[], now(), now()) RETURNING id",
            &[&b],
        )
        .await
        .unwrap()
        .get(0);
    c.execute(
        "INSERT INTO retention.action_protocol (at, actor, action, branch_id, guest_id,
             guest_type, run_id)
         SELECT now(), 'alice', a, $1, g, t, $2
         FROM (VALUES ('guest_anonymized', 'guest'), ('guest_anonymized', 'guest'),
                      ('guest_anonymized', 'regular_guest'),
                      ('newsletter_unsubscribed', 'guest')) v (a, t),
              LATERAL (SELECT 1000 + row_number() OVER () AS g) x",
        &[&b, &run],
    )
    .await
    .unwrap();
    expect_code(&db.cli(&["run", "--yes", "--branch", &b.to_string()]), 0);
    let row = c
        .query_one(
            "SELECT status, counts, branch_counts FROM retention.runs WHERE id = $1",
            &[&run],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "interrupted");
    let counts = serde_json::json!({
        "guest_anonymized": {"guest": 2, "regular_guest": 1},
        "newsletter_unsubscribed": {"guest": 1},
    });
    assert_eq!(row.get::<_, serde_json::Value>(1), counts);
    assert_eq!(
        row.get::<_, serde_json::Value>(2),
        serde_json::json!({ b.to_string(): counts })
    );
}
