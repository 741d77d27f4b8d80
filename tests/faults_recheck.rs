//! Concurrent changes during a batch: the re-check under the lock is the
//! candidate test, so a guest moved to another branch after the listing, or
//! whose reservation is rescheduled while the batch runs, is kept; so is a
//! guest whose period grew after the listing, by a policy or by its branch
//! moving under another head office (the periods the listing cached are
//! not read then).

mod common;

use std::time::Duration;

use common::faults::{branch_with_overdue, settings};
use common::{assert_untouched, day, fx, manual, TestDb};
use retentiond::model::Action;

#[tokio::test]
async fn a_guest_moved_to_another_branch_after_listing_is_kept() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let (a, g) = branch_with_overdue(&c, "Köln", "Europe/Berlin").await;
    let (other, _) = branch_with_overdue(&c, "Bonn", "Europe/Berlin").await;
    let s = settings(&db);
    let opts = manual(&s);
    let cx = common::context(s, day("2026-11-25"));
    let prepared = common::prepare(&cx, &[a]).await;
    // due in the other branch too, but the run holds only Köln's lock
    c.execute(
        "UPDATE guests SET branch_id = $2 WHERE id = $1",
        &[&g, &other],
    )
    .await
    .unwrap();
    let report = prepared.execute(&cx, &opts).await.unwrap().unwrap();
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
    let opts = manual(&s);
    let cx = common::context(s, day("2026-11-25"));
    let prepared = common::prepare(&cx, &[b]).await;
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
    let run = prepared.execute(&cx, &opts);
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

/// Whether retention.periods_cache holds the periods of the inputs in force.
async fn periods_cached(c: &tokio_postgres::Client) -> bool {
    c.query_one(
        "SELECT c.inputs = retention.periods_inputs() FROM retention.periods_cache c",
        &[],
    )
    .await
    .unwrap()
    .get(0)
}

#[tokio::test]
async fn a_period_lengthened_after_the_listing_keeps_its_guest() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let (b, g) = branch_with_overdue(&c, "Köln", "Europe/Berlin").await;
    let s = settings(&db);
    let opts = manual(&s);
    let cx = common::context(s, day("2026-11-25"));
    let prepared = common::prepare(&cx, &[b]).await;
    assert!(periods_cached(&c).await, "the listing caches the periods");
    let same: bool = c
        .query_one(
            "SELECT retention.periods_in_force() = k.periods FROM retention.guest_periods_by_key k",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(same, "a read of the cache gives the periods computed");
    fx::policy(&c, b, "guest", "10 years").await;
    assert!(!periods_cached(&c).await, "the cache holds the old period");
    let report = prepared.execute(&cx, &opts).await.unwrap().unwrap();
    assert_eq!(report.total(Action::GuestAnonymized), 0);
    assert_eq!(report.kept, 1);
    assert_untouched(&c, g).await;
}

#[tokio::test]
async fn a_branch_moved_under_another_head_office_after_the_listing_follows_its_period() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let short = fx::branch(&c, "Zentrale Nord", None).await;
    let long = fx::branch(&c, "Zentrale Süd", None).await;
    fx::policy(&c, short, "guest", "3 years").await;
    fx::policy(&c, long, "guest", "10 years").await;
    let b = fx::branch(&c, "Köln", Some(short)).await;
    let g = fx::guest(&c, b, day("2020-01-01")).await;
    fx::sale(&c, g, day("2020-01-01")).await;
    let s = settings(&db);
    let opts = manual(&s);
    let cx = common::context(s, day("2026-11-25"));
    let prepared = common::prepare(&cx, &[b]).await;
    assert!(periods_cached(&c).await, "the listing caches the periods");
    // the POS moves the branch: it inherits the other head office's period
    c.execute(
        "UPDATE branches SET parent_id = $2 WHERE id = $1",
        &[&b, &long],
    )
    .await
    .unwrap();
    assert!(!periods_cached(&c).await, "the cache holds the old parent");
    let report = prepared.execute(&cx, &opts).await.unwrap().unwrap();
    assert_eq!(report.total(Action::GuestAnonymized), 0);
    assert_eq!(report.kept, 1);
    assert_untouched(&c, g).await;
}
