//! The anonymization run on a real database: the rules of "Anonymize
//! personal data" and "Fiscal erasure", idempotence, dry run, the guard,
//! concurrency, re-checks under the lock, and crashes at any moment.

mod common;

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use common::{
    assert_anonymized, assert_untouched, day, expect_code, fx, manual, terminate, TestDb,
};
use retentiond::clock::FixedClock;
use retentiond::model::{Action, GuestType, RunStatus};
use retentiond::retention::run::{RunReport, Silent};
use retentiond::settings::Settings;
use tokio_postgres::Client;
use tokio_util::sync::CancellationToken;

fn settings(db: &TestDb, extra: &str) -> Settings {
    common::settings(db, &format!("size = \"100\"\n{extra}"))
}

/// A manual run over `branches` with the clock at `at`.
async fn run_at(db: &TestDb, branches: &[i64], at: DateTime<Utc>) -> RunReport {
    let s = settings(db, "");
    let pool = db.pool();
    let prepared = common::prepare(&pool, branches, at).await;
    // a run that found its branch busy would do nothing and prove nothing
    assert!(
        prepared.locked_elsewhere.is_empty(),
        "the branches are free: an earlier run released them when it ended"
    );
    prepared
        .execute(
            &pool,
            &manual(&s),
            &FixedClock(at),
            &Silent,
            &CancellationToken::new(),
        )
        .await
        .unwrap()
        .expect("a manual run is always recorded")
}

async fn one<T: for<'a> tokio_postgres::types::FromSql<'a>>(c: &Client, sql: &str, id: i64) -> T {
    c.query_one(sql, &[&id]).await.unwrap().get(0)
}

async fn protocol_count(c: &Client, action: &str, guest: i64) -> i64 {
    c.query_one(
        "SELECT count(*) FROM retention.action_protocol WHERE action = $1 AND guest_id = $2",
        &[&action, &guest],
    )
    .await
    .unwrap()
    .get(0)
}

struct World {
    db: TestDb,
    c: Client,
    branch: i64,
}

async fn world() -> World {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let branch = fx::branch(&c, "Köln", None).await;
    fx::policy(&c, branch, "guest", "3 years").await;
    fx::policy(&c, branch, "regular_guest", "5 years").await;
    fx::policy(&c, branch, "company_guest", "10 years").await;
    fx::policy(&c, branch, "guest_without_sale", "1 year").await;
    World { db, c, branch }
}

/// An overdue `guest` with a sale on 2020-01-01 (deadline 2023-01-01).
async fn old_guest(w: &World) -> i64 {
    let g = fx::guest(&w.c, w.branch, day("2020-01-01")).await;
    fx::sale(&w.c, g, day("2020-01-01")).await;
    g
}

#[tokio::test]
async fn anonymizes_personal_data_exactly_as_the_rules_say() {
    let w = world().await;
    let g = old_guest(&w).await;
    let res = fx::reservation(&w.c, g, day("2020-01-01"), day("2020-01-10"), false).await;
    fx::newsletter(&w.c, g, day("2019-06-01"), None).await;
    let inv = fx::invoice(&w.c, g, day("2020-01-01"), true).await;
    w.c.execute(
        "INSERT INTO customer_cards (guest_id, card_number) VALUES ($1, 'C-1')",
        &[&g],
    )
    .await
    .unwrap();
    // a blank company is no company: its fields go with the personal data
    fx::set_company(&w.c, g, "  ").await;

    let at = day("2026-11-25");
    let report = run_at(&w.db, &[w.branch], at).await;
    assert_eq!(report.status, RunStatus::Completed);
    assert_eq!(report.total(Action::GuestAnonymized), 1);
    assert_eq!(report.total(Action::NewsletterUnsubscribed), 1);

    assert_anonymized(&w.c, g).await;
    let r =
        w.c.query_one(
            "SELECT company, vat_id, economic_id FROM guests WHERE id = $1",
            &[&g],
        )
        .await
        .unwrap();
    assert_eq!(
        (
            r.get::<_, Option<String>>(0),
            r.get::<_, Option<String>>(1),
            r.get::<_, Option<String>>(2)
        ),
        (None, None, None)
    );
    let r =
        w.c.query_one(
            "SELECT notes, reserved_for, party_size FROM reservations WHERE id = $1",
            &[&res],
        )
        .await
        .unwrap();
    assert_eq!(r.get::<_, Option<String>>(0), None, "reservation notes go");
    assert_eq!(
        r.get::<_, DateTime<Utc>>(1),
        day("2020-01-10"),
        "dates stay"
    );
    assert_eq!(r.get::<_, i32>(2), 4, "party size stays");
    let r =
        w.c.query_one(
            "SELECT email, unsubscribed_at FROM newsletter_subscriptions WHERE guest_id = $1",
            &[&g],
        )
        .await
        .unwrap();
    assert_eq!(r.get::<_, Option<String>>(0), None);
    assert_eq!(r.get::<_, Option<DateTime<Utc>>>(1), Some(at));
    let pdf: Option<Vec<u8>> = one(&w.c, "SELECT pdf FROM invoices WHERE id = $1", inv).await;
    assert_eq!(pdf, None, "invoice PDF of a non-company guest goes");
    let valid: bool = one(
        &w.c,
        "SELECT valid FROM customer_cards WHERE guest_id = $1",
        g,
    )
    .await;
    assert!(valid, "customer cards remain valid");
    let sales: i64 = one(&w.c, "SELECT count(*) FROM sales WHERE guest_id = $1", g).await;
    assert_eq!(sales, 1, "sales stay");

    // protocol: one row per action, with type and run, no personal data
    let rows =
        w.c.query(
            "SELECT action, guest_type, run_id, actor, branch_id, details::text
             FROM retention.action_protocol WHERE guest_id = $1 ORDER BY action",
            &[&g],
        )
        .await
        .unwrap();
    let actions: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(actions, ["guest_anonymized", "newsletter_unsubscribed"]);
    for r in &rows {
        assert_eq!(r.get::<_, Option<String>>(1).as_deref(), Some("guest"));
        assert_eq!(r.get::<_, Option<i64>>(2), Some(report.run_id));
        assert_eq!(r.get::<_, String>(3), "alice");
        assert_eq!(r.get::<_, Option<i64>>(4), Some(w.branch));
    }
    let all: String = w
        .c
        .query_one(
            "SELECT string_agg(details::text || actor || action, ' ') FROM retention.action_protocol",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    for personal in [
        "Erika",
        "Mustermann",
        "example.com",
        "Heidestraße",
        "1234567",
        "Nüsse",
    ] {
        assert!(!all.contains(personal), "protocol holds {personal:?}");
    }
    // the run is recorded with its counts
    let r =
        w.c.query_one(
            "SELECT kind, actor, status, counts, remaining, finished_at IS NOT NULL
             FROM retention.runs WHERE id = $1",
            &[&report.run_id],
        )
        .await
        .unwrap();
    assert_eq!(r.get::<_, String>(0), "manual");
    assert_eq!(r.get::<_, String>(1), "alice");
    assert_eq!(r.get::<_, String>(2), "completed");
    assert_eq!(
        r.get::<_, serde_json::Value>(3)["guest_anonymized"]["guest"],
        1
    );
    assert_eq!(r.get::<_, i64>(4), 0);
    assert!(r.get::<_, bool>(5));
    for action in ["run_started", "run_finished"] {
        let n: i64 =
            w.c.query_one(
                "SELECT count(*) FROM retention.action_protocol WHERE action = $1 AND run_id = $2",
                &[&action, &report.run_id],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(n, 1, "{action}");
    }
}

#[tokio::test]
async fn a_finished_run_holds_no_branch_lock_when_it_returns() {
    let w = world().await;
    old_guest(&w).await;
    for n in 0..10 {
        let at = day("2026-11-25") + chrono::Duration::days(n);
        run_at(&w.db, &[w.branch], at).await;
        // asked at once, not after the server noticed a closed connection
        let held = fx::count(
            &w.c,
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'
               AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        )
        .await;
        assert_eq!(
            held, 0,
            "the run released its branch locks before returning"
        );
    }
}

#[tokio::test]
async fn company_guest_keeps_fiscal_data_until_its_fiscal_deadline() {
    let w = world().await;
    let g = old_guest(&w).await;
    fx::set_company(&w.c, g, "ACME GmbH").await;
    let inv = fx::invoice(&w.c, g, day("2020-01-01"), true).await;

    // personal deadline 2023-01-01 passed: personal data goes, fiscal data stays
    let report = run_at(&w.db, &[w.branch], day("2026-11-25")).await;
    assert_eq!(
        report.counts[&Action::GuestAnonymized][&GuestType::CompanyGuest],
        1
    );
    assert_anonymized(&w.c, g).await;
    let r = w
        .c
        .query_one(
            "SELECT company, vat_id, economic_id, fiscal_erased_at IS NULL FROM guests WHERE id = $1",
            &[&g],
        )
        .await
        .unwrap();
    assert_eq!(r.get::<_, Option<String>>(0).as_deref(), Some("ACME GmbH"));
    assert_eq!(
        r.get::<_, Option<String>>(1).as_deref(),
        Some("DE123456789")
    );
    assert_eq!(
        r.get::<_, Option<String>>(2).as_deref(),
        Some("DE123456789-00001")
    );
    assert!(r.get::<_, bool>(3));
    let pdf: Option<Vec<u8>> = one(&w.c, "SELECT pdf FROM invoices WHERE id = $1", inv).await;
    assert!(pdf.is_some(), "a company guest's invoice PDFs stay");

    // one day before the fiscal deadline (2030-01-01 12:00): nothing more
    let report = run_at(&w.db, &[w.branch], day("2029-12-31")).await;
    assert_eq!(report.total(Action::FiscalDataErased), 0);
    assert_eq!(
        report.total(Action::GuestAnonymized),
        0,
        "anonymized only once"
    );

    // one day after: fiscal erasure
    let at = day("2030-01-02");
    let report = run_at(&w.db, &[w.branch], at).await;
    assert_eq!(
        report.counts[&Action::FiscalDataErased][&GuestType::CompanyGuest],
        1
    );
    let r =
        w.c.query_one(
            "SELECT company, vat_id, economic_id, fiscal_erased_at FROM guests WHERE id = $1",
            &[&g],
        )
        .await
        .unwrap();
    assert_eq!(r.get::<_, Option<String>>(0), None);
    assert_eq!(r.get::<_, Option<String>>(1), None);
    assert_eq!(r.get::<_, Option<String>>(2), None);
    assert_eq!(r.get::<_, Option<DateTime<Utc>>>(3), Some(at));
    let pdf: Option<Vec<u8>> = one(&w.c, "SELECT pdf FROM invoices WHERE id = $1", inv).await;
    assert_eq!(pdf, None);
    assert_eq!(protocol_count(&w.c, "guest_anonymized", g).await, 1);
    assert_eq!(protocol_count(&w.c, "fiscal_data_erased", g).await, 1);
}

#[tokio::test]
async fn both_deadlines_passed_means_both_actions_in_one_batch() {
    let w = world().await;
    let g = old_guest(&w).await;
    fx::set_company(&w.c, g, "ACME GmbH").await;
    let report = run_at(&w.db, &[w.branch], day("2031-01-01")).await;
    assert_eq!(report.total(Action::GuestAnonymized), 1);
    assert_eq!(report.total(Action::FiscalDataErased), 1);
    let company: Option<String> = one(&w.c, "SELECT company FROM guests WHERE id = $1", g).await;
    assert_eq!(company, None);
}

#[tokio::test]
async fn retained_blocked_and_unconfigured_guests_are_untouched() {
    let w = world().await;
    // deadline 2023-01-03 12:00, one day after the run
    let recent = fx::guest(&w.c, w.branch, day("2020-01-03")).await;
    fx::sale(&w.c, recent, day("2020-01-03")).await;
    // overdue but an unpaid invoice blocks
    let blocked = old_guest(&w).await;
    fx::invoice(&w.c, blocked, day("2020-01-01"), false).await;
    // newsletter subscribers have no period here: never anonymized
    let subscriber = fx::guest(&w.c, w.branch, day("2010-01-01")).await;
    fx::newsletter(&w.c, subscriber, day("2010-01-01"), None).await;
    // a future reservation keeps an overdue guest
    let booked = old_guest(&w).await;
    fx::reservation(&w.c, booked, day("2020-01-01"), day("2027-02-01"), false).await;
    // deadline 2023-01-01 12:00, one day before the run
    let due = fx::guest(&w.c, w.branch, day("2020-01-01")).await;
    fx::sale(&w.c, due, day("2020-01-01")).await;

    let report = run_at(&w.db, &[w.branch], day("2023-01-02")).await;
    assert_eq!(report.total(Action::GuestAnonymized), 1);
    assert_anonymized(&w.c, due).await;
    for g in [recent, blocked, subscriber, booked] {
        assert_untouched(&w.c, g).await;
    }
}

#[tokio::test]
async fn second_run_is_a_no_op() {
    let w = world().await;
    for _ in 0..5 {
        old_guest(&w).await;
    }
    let first = run_at(&w.db, &[w.branch], day("2026-11-25")).await;
    assert_eq!(first.total(Action::GuestAnonymized), 5);
    let before = fx::count(
        &w.c,
        "SELECT count(*) FROM retention.action_protocol WHERE guest_id IS NOT NULL",
    )
    .await;
    let second = run_at(&w.db, &[w.branch], day("2026-11-26")).await;
    assert_eq!(second.total(Action::GuestAnonymized), 0);
    assert_eq!(second.status, RunStatus::Completed);
    let after = fx::count(
        &w.c,
        "SELECT count(*) FROM retention.action_protocol WHERE guest_id IS NOT NULL",
    )
    .await;
    assert_eq!(before, after, "no guest protocol rows in the second run");
}

#[tokio::test]
async fn guest_who_gains_a_reservation_after_listing_is_kept() {
    let w = world().await;
    let kept = old_guest(&w).await;
    let other = old_guest(&w).await;
    let at = day("2026-11-25");
    let s = settings(&w.db, "");
    let pool = w.db.pool();
    let prepared = common::prepare(&pool, &[w.branch], at).await;
    assert_eq!(prepared.total_guests(), 2, "both listed");
    // the POS books a table for tomorrow, between listing and the batch
    fx::reservation(&w.c, kept, at, day("2026-11-26"), false).await;
    let report = prepared
        .execute(
            &pool,
            &manual(&s),
            &FixedClock(at),
            &Silent,
            &CancellationToken::new(),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(report.total(Action::GuestAnonymized), 1);
    assert_eq!(report.kept, 1);
    assert_untouched(&w.c, kept).await;
    assert_anonymized(&w.c, other).await;
    assert_eq!(protocol_count(&w.c, "guest_anonymized", kept).await, 0);
}

#[tokio::test]
async fn row_locked_by_the_pos_is_skipped_and_left_for_the_next_run() {
    let w = world().await;
    let locked = old_guest(&w).await;
    let free = old_guest(&w).await;
    let mut pos = w.db.client().await;
    let tx = pos.transaction().await.unwrap();
    tx.execute("SELECT 1 FROM guests WHERE id = $1 FOR UPDATE", &[&locked])
        .await
        .unwrap();
    let report = run_at(&w.db, &[w.branch], day("2026-11-25")).await;
    assert_eq!(report.total(Action::GuestAnonymized), 1);
    assert_eq!(report.remaining, 1);
    assert_eq!(report.status, RunStatus::Partial);
    assert_anonymized(&w.c, free).await;
    tx.rollback().await.unwrap();
    assert_untouched(&w.c, locked).await;
    let next = run_at(&w.db, &[w.branch], day("2026-11-26")).await;
    assert_eq!(next.total(Action::GuestAnonymized), 1);
    assert_anonymized(&w.c, locked).await;
}

#[tokio::test]
async fn guard_holds_a_scheduled_run_and_a_manual_run_releases_it() {
    let w = world().await;
    fx::branch_settings_auto_delete(&w.c, w.branch).await;
    let overdue: Vec<i64> = {
        let mut v = Vec::new();
        for _ in 0..3 {
            v.push(old_guest(&w).await);
        }
        v
    };
    for _ in 0..7 {
        let g = fx::guest(&w.c, w.branch, day("2026-01-01")).await;
        fx::sale(&w.c, g, day("2026-01-01")).await;
    }
    // 3 of 10 not anonymized guests is over the 10 % guard
    let s = settings(&w.db, "[schedule]\nguard = \"0.1\"\n");
    let pool = w.db.pool();
    // inside the night's window (02:30 CET = 01:30 UTC, three hours)
    let at = day("2026-11-25") - chrono::Duration::hours(10);
    let report = retentiond::schedule::nightly::run_night(
        &pool,
        &s,
        None,
        &FixedClock(at),
        &Silent,
        &CancellationToken::new(),
        w.branch,
        at.date_naive(),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(report.status, RunStatus::Held);
    assert_eq!(report.held.len(), 1);
    assert_eq!(report.held[0].candidates, 3);
    assert_eq!(report.held[0].not_anonymized, 10);
    // how to confirm is the edges' to say (status, summary mail, journal)
    assert_eq!(report.held[0].branch_id, w.branch);
    for g in &overdue {
        assert_untouched(&w.c, *g).await;
    }
    let held: i64 = fx::count(
        &w.c,
        &format!(
            "SELECT count(*) FROM retention.action_protocol
             WHERE action = 'run_held' AND branch_id = {} AND details->>'candidates' = '3'",
            w.branch
        ),
    )
    .await;
    assert_eq!(held, 1);
    let status: String = one(
        &w.c,
        "SELECT status FROM retention.runs WHERE id = $1",
        report.run_id,
    )
    .await;
    assert_eq!(status, "held");

    // the admin confirms by hand
    let out =
        w.db.cli(&["run", "--branch", &w.branch.to_string(), "--yes"]);
    let text = expect_code(&out, 0);
    assert!(text.contains("anonymized: 3"), "{text}");
    for g in &overdue {
        assert_anonymized(&w.c, *g).await;
    }
}

#[tokio::test]
async fn dry_run_changes_nothing() {
    let w = world().await;
    let g = old_guest(&w).await;
    let before = fx::count(&w.c, "SELECT count(*) FROM retention.action_protocol").await;
    let out = w.db.cli(&["run", "--dry-run"]);
    let text = expect_code(&out, 0);
    assert!(text.contains("dry run: nothing was changed"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>()
                == [w.branch.to_string().as_str(), "guest", "1", "0", "0"]),
        "{text}"
    );
    assert_untouched(&w.c, g).await;
    assert_eq!(
        fx::count(&w.c, "SELECT count(*) FROM retention.action_protocol").await,
        before
    );
    assert_eq!(
        fx::count(&w.c, "SELECT count(*) FROM retention.runs").await,
        0
    );
    assert_eq!(
        fx::count(&w.c, "SELECT count(*) FROM retention.run_candidates").await,
        0
    );
}

#[tokio::test]
async fn run_without_terminal_or_yes_refuses_and_changes_nothing() {
    let w = world().await;
    let g = old_guest(&w).await;
    let out = w.db.cli(&["run"]);
    expect_code(&out, 2);
    assert!(
        common::stderr(&out).contains("--yes"),
        "{}",
        common::stderr(&out)
    );
    assert_untouched(&w.c, g).await;
    assert_eq!(
        fx::count(&w.c, "SELECT count(*) FROM retention.runs").await,
        0
    );
}

#[tokio::test]
async fn run_of_a_branch_without_periods_is_a_clear_error() {
    let w = world().await;
    let other = fx::branch(&w.c, "Bonn", None).await;
    let out =
        w.db.cli(&["run", "--branch", &other.to_string(), "--dry-run"]);
    expect_code(&out, 2);
    assert!(common::stderr(&out).contains("no retention period"));
    let out = w.db.cli(&["run", "--branch", "999", "--dry-run"]);
    expect_code(&out, 2);
}

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
