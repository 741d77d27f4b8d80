//! A run does each guest once and only while it is due: its branch locks
//! are released when it returns, a second run is a no-op, a guest who gains
//! a reservation after the listing is kept by the re-check under the lock,
//! and a row the POS holds is left for the next run.

mod common;

use common::run::{old_guest, protocol_count, run_at, settings, world};
use common::{assert_anonymized, assert_untouched, day, fx, manual};
use retentiond::model::{Action, RunStatus};

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
    let opts = manual(&s);
    let cx = common::context(s, at);
    let prepared = common::prepare(&cx, &[w.branch]).await;
    assert_eq!(prepared.total_guests(), 2, "both listed");
    // the POS books a table for tomorrow, between listing and the batch
    fx::reservation(&w.c, kept, at, day("2026-11-26"), false).await;
    let report = prepared.execute(&cx, &opts).await.unwrap().unwrap();
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
