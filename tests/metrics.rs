//! The metrics endpoint, scraped during and after a nightly run of the
//! daemon, as Prometheus would.

mod common;

use std::io::{Read, Write};
use std::process::Stdio;
use std::time::{Duration, Instant};

use chrono::Utc;
use common::{day, free_port, fx, terminate, TestDb};

fn scrape(port: u16) -> Option<String> {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n\r\n")
        .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    assert!(head.starts_with("HTTP/1.1 200 OK"), "{head}");
    assert!(head.contains("application/openmetrics-text"), "{head}");
    Some(body.to_string())
}

/// The value of the sample named exactly `series` (with its labels).
fn value(page: &str, series: &str) -> Option<f64> {
    page.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test]
async fn a_scrape_during_and_after_a_night_shows_the_run() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let b = fx::branch(&c, "Köln", None).await;
    c.execute("UPDATE branches SET time_zone = 'UTC' WHERE id = $1", &[&b])
        .await
        .unwrap();
    fx::policy(&c, b, "guest", "3 years").await;
    fx::branch_settings_auto_delete(&c, b).await;
    c.execute(
        "UPDATE retention.branch_settings SET notify_addresses = ARRAY['chef@example.org']
         WHERE branch_id = $1",
        &[&b],
    )
    .await
    .unwrap();
    for _ in 0..60 {
        let g = fx::guest(&c, b, day("2020-01-01")).await;
        fx::sale(&c, g, day("2020-01-01")).await;
    }
    let port = free_port();
    let a_minute_ago = (Utc::now() - chrono::Duration::minutes(1))
        .format("%H:%M")
        .to_string();
    let listen = format!("127.0.0.1:{port}");
    let mut daemon = db
        .command(
            &["serve"],
            &[
                ("RETENTIOND__METRICS__LISTEN", listen.as_str()),
                ("RETENTIOND__SCHEDULE__TICK", "1s"),
                ("RETENTIOND__SCHEDULE__NIGHTLY_AT", a_minute_ago.as_str()),
                ("RETENTIOND__SCHEDULE__PENDING_AT", a_minute_ago.as_str()),
                ("RETENTIOND__SCHEDULE__GUARD", "1"),
                // six batches of ten, a pause between: a run to scrape during
                ("RETENTIOND__BATCH__SIZE", "10"),
                ("RETENTIOND__BATCH__PAUSE", "400ms"),
                ("RETENTIOND__MAIL__TRANSPORT", "log"),
            ],
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();

    // during the run
    let start = Instant::now();
    let during = loop {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no run to scrape"
        );
        if let Some(page) = scrape(port) {
            if value(&page, "retentiond_runs_in_progress") == Some(1.0)
                && value(&page, "retentiond_batch_duration_seconds_count").unwrap_or(0.0) > 0.0
            {
                break page;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let branch = format!("{{branch=\"{b}\"}}");
    assert_eq!(value(&during, "retentiond_ready"), Some(1.0));
    assert_eq!(
        value(&during, "retentiond_build_info{version=\"0.1.0\"}"),
        Some(1.0)
    );
    let so_far = value(
        &during,
        &format!("retentiond_guests_anonymized_total{branch}"),
    )
    .unwrap();
    assert!(
        so_far > 0.0 && so_far < 60.0,
        "counted batch by batch: {so_far}"
    );

    // after it
    let after = loop {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the run did not end"
        );
        if let Some(page) = scrape(port) {
            if value(
                &page,
                &format!("retentiond_last_run_status{{branch=\"{b}\",status=\"completed\"}}"),
            ) == Some(1.0)
                && value(&page, "retentiond_runs_in_progress") == Some(0.0)
                // the day's pending snapshot (the tick after the night's run)
                && value(&page, &format!("retentiond_guests_overdue{branch}")).is_some()
            {
                break page;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let status = terminate(&mut daemon, Duration::from_secs(5));
    assert_eq!(status.code(), Some(0));

    assert_eq!(
        value(
            &after,
            &format!("retentiond_guests_anonymized_total{branch}")
        ),
        Some(60.0)
    );
    assert_eq!(
        value(&after, "retentiond_batch_duration_seconds_count"),
        Some(6.0)
    );
    assert_eq!(
        value(&after, "retentiond_batch_lock_hold_seconds_count"),
        Some(6.0)
    );
    assert_eq!(
        value(&after, &format!("retentiond_branch_held{branch}")),
        Some(0.0)
    );
    let ended = value(
        &after,
        &format!("retentiond_last_run_end_timestamp_seconds{branch}"),
    )
    .unwrap();
    assert!(
        (ended - Utc::now().timestamp() as f64).abs() < 120.0,
        "{ended}"
    );
    assert!(
        value(
            &after,
            &format!("retentiond_last_run_duration_seconds{branch}")
        )
        .unwrap()
            >= 2.0
    );
    assert_eq!(value(&after, "retentiond_database_up"), Some(1.0));
    assert!(value(&after, "retentiond_outbox_queued").is_some());
    assert_eq!(value(&after, "retentiond_outbox_given_up"), Some(0.0));
    // the pending snapshot after the night: nothing left overdue
    assert_eq!(
        value(&after, &format!("retentiond_guests_overdue{branch}")),
        Some(0.0),
        "{after}"
    );
    assert!(
        after.trim_end().ends_with("# EOF"),
        "OpenMetrics ends with # EOF"
    );
}

#[tokio::test]
async fn a_metrics_address_that_does_not_parse_is_refused_at_start() {
    let db = TestDb::migrated().await;
    let out = db.cli_env(
        &["check-config"],
        &[("RETENTIOND__METRICS__LISTEN", "localhost")],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        common::stderr(&out).contains("metrics.listen = \"localhost\" is not an address"),
        "{}",
        common::stderr(&out)
    );
}
