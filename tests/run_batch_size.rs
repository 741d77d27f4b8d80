//! A run's batches adapt their size: the first takes `batch.size`, later
//! ones double up to `batch.max_size` while their row locks are held well
//! under `batch.max_lock_hold`, and the batch after one that met a row the
//! POS holds is half as large. Whatever the sizes, every due guest is done
//! once.

mod common;

use common::run::{old_guest, world, World};
use common::{assert_anonymized, assert_untouched, day, fx, manual};
use retentiond::model::{Action, RunStatus};
use retentiond::retention::run::{BatchSizes, RunReport};

/// A manual run with `[batch]` settings `extra` (no pause).
async fn run_with(w: &World, extra: &str) -> RunReport {
    let s = common::settings(&w.db, extra);
    let opts = manual(&s);
    let cx = common::context(s, day("2026-11-25"));
    let prepared = common::prepare(&cx, &[w.branch]).await;
    prepared.execute(&cx, &opts).await.unwrap().unwrap()
}

async fn old_guests(w: &World, n: usize) -> Vec<i64> {
    let mut ids = Vec::new();
    for _ in 0..n {
        ids.push(old_guest(w).await);
    }
    ids
}

#[tokio::test]
async fn batches_held_briefly_double_up_to_the_cap() {
    let w = world().await;
    let guests = old_guests(&w, 40).await;
    // a bound no batch of a few guests comes near: every batch counts as brief
    let report = run_with(
        &w,
        "size = \"1\"\nmax_size = \"8\"\nmax_lock_hold = \"60s\"",
    )
    .await;
    assert_eq!(report.total(Action::GuestAnonymized), 40);
    assert_eq!(report.status, RunStatus::Completed);
    assert_eq!(
        report.batch_sizes,
        BatchSizes {
            first: 1,
            smallest: 1,
            largest: 8,
            last: 8
        }
    );
    // four batches each of 1, 2 and 4 guests (28), then 8 and 4
    assert_eq!(report.lock_holds.batches(), 14);
    for g in guests {
        assert_anonymized(&w.c, g).await;
    }
}

#[tokio::test]
async fn the_batch_after_one_that_met_a_row_the_pos_holds_is_half_as_large() {
    let w = world().await;
    let guests = old_guests(&w, 12).await;
    let mut pos = w.db.client().await;
    let tx = pos.transaction().await.unwrap();
    tx.execute(
        "SELECT 1 FROM guests WHERE id = $1 FOR UPDATE",
        &[&guests[0]],
    )
    .await
    .unwrap();
    let report = run_with(
        &w,
        "size = \"8\"\nmax_size = \"8\"\nmax_lock_hold = \"60s\"",
    )
    .await;
    assert_eq!(
        report.batch_sizes,
        BatchSizes {
            first: 8,
            smallest: 4,
            largest: 8,
            last: 4
        }
    );
    assert_eq!(report.lock_holds.batches(), 2, "8 guests, then the last 4");
    assert_eq!(report.total(Action::GuestAnonymized), 11);
    assert_eq!(report.remaining, 1, "the held guest waits for the next run");
    tx.rollback().await.unwrap();
    assert_untouched(&w.c, guests[0]).await;
    for &g in &guests[1..] {
        assert_anonymized(&w.c, g).await;
    }
}

#[tokio::test]
async fn the_first_batch_is_capped_by_max_size() {
    let w = world().await;
    old_guests(&w, 6).await;
    let report = run_with(&w, "max_size = \"2\"\nmax_lock_hold = \"60s\"").await;
    assert_eq!(report.batch_sizes.first, 2);
    assert_eq!(report.batch_sizes.largest, 2);
    assert_eq!(report.lock_holds.batches(), 3);
    assert_eq!(report.total(Action::GuestAnonymized), 6);
}

#[tokio::test]
async fn batches_take_guests_in_id_order_across_the_branches_of_a_run() {
    // guests of three branches, numbered alternately as a chain's come in
    let w = world().await;
    let b2 = fx::branch(&w.c, "Bonn", Some(w.branch)).await;
    let b3 = fx::branch(&w.c, "Aachen", Some(w.branch)).await;
    let mut by_branch = vec![(w.branch, Vec::new()), (b2, Vec::new()), (b3, Vec::new())];
    for i in 0..21 {
        let (b, ids) = &mut by_branch[i % 3];
        let g = fx::guest(&w.c, *b, day("2020-01-01")).await;
        fx::sale(&w.c, g, day("2020-01-01")).await;
        ids.push(g);
    }
    let s = common::settings(
        &w.db,
        "size = \"5\"\nmax_size = \"5\"\nmax_lock_hold = \"60s\"",
    );
    let opts = manual(&s);
    let cx = common::context(s, day("2026-11-25"));
    let branches: Vec<i64> = by_branch.iter().map(|(b, _)| *b).collect();
    let prepared = common::prepare(&cx, &branches).await;
    let report = prepared.execute(&cx, &opts).await.unwrap().unwrap();
    // 21 guests in batches of 5 whatever their branch: 5, not 3 x 2
    assert_eq!(report.lock_holds.batches(), 5);
    assert_eq!(report.total(Action::GuestAnonymized), 21);
    for (b, ids) in &by_branch {
        let counted: i64 = report.branch_counts[b][&Action::GuestAnonymized]
            .values()
            .sum();
        let rows = fx::count(
            &w.c,
            &format!(
                "SELECT count(*) FROM retention.action_protocol
                 WHERE action = 'guest_anonymized' AND branch_id = {b}"
            ),
        )
        .await;
        assert_eq!((counted, rows), (7, 7), "branch {b}");
        for &g in ids {
            assert_anonymized(&w.c, g).await;
        }
    }
    // each batch (its protocol rows share a seal) takes guests after the
    // last one's, whatever their branch
    let backwards = fx::count(
        &w.c,
        "SELECT count(*) FROM (
             SELECT lo, lag(hi) OVER (ORDER BY pos) AS before
             FROM (SELECT s.pos, min(p.guest_id) AS lo, max(p.guest_id) AS hi
                   FROM retention.protocol_seals s
                   JOIN retention.action_protocol p ON p.id = ANY (s.row_ids)
                   WHERE p.action = 'guest_anonymized'
                   GROUP BY s.pos) b) x
         WHERE lo < before",
    )
    .await;
    assert_eq!(backwards, 0);
}
