//! Every stop is bounded: SIGTERM during a long listing, a batch waiting for
//! a row, a long statement of the daemon, an export or a send to a silent
//! mail server ends the process within five seconds, and what was not
//! committed is rolled back, handed out or counted as an attempt.

mod common;

use std::net::TcpListener;
use std::time::Duration;

use common::faults::{
    block_guests, branch_with_overdue, night_began_a_minute_ago, pos_holds_reservation,
    retentiond_waits, spawn, stop_within_five_seconds, wait_until,
};
use common::{assert_untouched, TestDb};

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
    // the POS holds the guest's reservation: the batch waits for it
    let holder = pos_holds_reservation(&db, &c, g).await;
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
