//! The watchdog proves progress: no heartbeat while a statement hangs,
//! heartbeats again once it moves, and a watchdog too short to keep is a
//! clear error.

mod common;

use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};

use common::faults::{
    block_guests, branch_with_overdue, night_began_a_minute_ago, retentiond_waits, spawn,
    stop_within_five_seconds, wait_until,
};
use common::{expect_code, stderr, TestDb};

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
