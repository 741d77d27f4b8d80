//! Deletion only at night: a daemon back by day deletes nothing until the
//! next night's window, which catches up; a missed night is said in the
//! pending summary.

mod common;

use common::faults::{branch_with_overdue, settings, tick_at, utc};
use common::{assert_anonymized, assert_untouched, day, fx, TestDb};
use retentiond::retention::{night, summary};
use tokio_postgres::Client;

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
    let cx = common::context(settings(&db), utc("2026-11-25T12:00:00Z"));
    let missed = night::missed_nights(&cx).await.unwrap();
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
    let cx = common::context(s, utc("2026-11-25T07:00:00Z"));
    let queued = summary::queue_due(&cx, &notifier).await.unwrap();
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
