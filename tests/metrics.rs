//! The metrics endpoint, scraped as Prometheus and curl would: during and
//! after a nightly run, before the first run (every series there, the page
//! accepted by `promtool check metrics`), and while the database is down.

mod common;
mod scrape;

use std::process::Stdio;
use std::time::{Duration, Instant};

use chrono::Utc;
use common::{day, free_port, fx, terminate, TestDb};
use scrape::*;

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
                // six batches of ten (the cap keeps them at ten), a pause
                // between: a run to scrape during
                ("RETENTIOND__BATCH__SIZE", "10"),
                ("RETENTIOND__BATCH__MAX_SIZE", "10"),
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
                && value(&page, &format!("retentiond_guests_overdue{branch}")).is_some_and(|v| !v.is_nan())
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
    // the night is done: its time is there for "no night for a day"
    let night = value(
        &after,
        &format!("retentiond_last_completed_night_timestamp_seconds{branch}"),
    )
    .unwrap();
    assert_eq!(night, ended);
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

#[tokio::test]
async fn every_series_is_there_before_the_first_run_and_promtool_accepts_the_page() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let on = fx::branch(&c, "Köln", None).await;
    let off = fx::branch(&c, "Bonn", Some(on)).await;
    fx::branch_settings_auto_delete(&c, on).await;
    let port = free_port();
    let mut daemon = serve_without_a_night(&db, port);
    let page = scrape_until(port, scrape_text, |p| {
        value(p, "retentiond_ready") == Some(1.0) && value(p, "retentiond_ledger_ok") == Some(1.0)
    });
    let status = terminate(&mut daemon, Duration::from_secs(5));
    assert_eq!(status.code(), Some(0));
    let recorded = value(&page, "retentiond_ledger_recorded_timestamp_seconds").unwrap();
    assert!(
        (recorded - Utc::now().timestamp() as f64).abs() < 120.0,
        "{recorded}"
    );
    assert_eq!(
        value(&page, "retentiond_last_restore_timestamp_seconds"),
        Some(0.0)
    );

    let all = series(&page);
    for b in [on, off] {
        let branch = format!("{{branch=\"{b}\"}}");
        for counter in [
            "retentiond_guests_anonymized_total",
            "retentiond_newsletter_unsubscriptions_total",
            "retentiond_fiscal_erasures_total",
        ] {
            assert_eq!(
                value(&page, &format!("{counter}{branch}")),
                Some(0.0),
                "{counter}{branch}"
            );
        }
        for gauge in [
            "retentiond_last_run_end_timestamp_seconds",
            "retentiond_last_run_duration_seconds",
            "retentiond_last_completed_night_timestamp_seconds",
            "retentiond_branch_held",
        ] {
            assert_eq!(
                value(&page, &format!("{gauge}{branch}")),
                Some(0.0),
                "{gauge}{branch}"
            );
        }
        for status in ["completed", "partial", "held", "interrupted", "failed"] {
            let s = format!("retentiond_last_run_status{{branch=\"{b}\",status=\"{status}\"}}");
            assert_eq!(value(&page, &s), Some(0.0), "{s}");
        }
        // no pending snapshot yet: not known, which no alert reads as 0
        for gauge in ["retentiond_guests_overdue", "retentiond_guests_due_soon"] {
            let s = format!("{gauge}{branch}");
            assert!(all.contains(&s), "{s}");
            assert!(value(&page, &s).unwrap().is_nan(), "{s}");
        }
    }
    assert_eq!(
        value(&page, &format!("retentiond_auto_delete{{branch=\"{on}\"}}")),
        Some(1.0)
    );
    assert_eq!(
        value(
            &page,
            &format!("retentiond_auto_delete{{branch=\"{off}\"}}")
        ),
        Some(0.0)
    );
    for single in [
        "retentiond_database_up",
        "retentiond_runs_in_progress",
        "retentiond_outbox_queued",
        "retentiond_outbox_given_up",
        "retentiond_batch_duration_seconds_count",
        "retentiond_batch_lock_hold_seconds_count",
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "process_virtual_memory_bytes",
        "process_open_fds",
        "process_max_fds",
        "process_threads",
    ] {
        assert!(value(&page, single).is_some(), "{single} in\n{page}");
    }
    let started = value(&page, "process_start_time_seconds").unwrap();
    assert!(
        (started - Utc::now().timestamp() as f64).abs() < 120.0,
        "{started}"
    );
    assert_eq!(
        value(&page, "retentiond_build_info{version=\"0.1.0\"}"),
        Some(1.0)
    );
    assert_promtool_accepts(&page);
    // every series the shipped alert rules read is on the page
    let rules = std::fs::read_to_string(RULES).unwrap();
    for name in rules
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with("retentiond_"))
    {
        assert!(
            page.contains(&format!("# TYPE {name} ")),
            "alerts.yml reads {name}, which the daemon does not serve"
        );
    }
}

#[tokio::test]
async fn while_the_database_is_down_its_gauges_are_absent_and_the_daemon_not_ready() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let b = fx::branch(&c, "Köln", None).await;
    fx::branch_settings_auto_delete(&c, b).await;
    let port = free_port();
    let mut daemon = serve_without_a_night(&db, port);
    let up = scrape_until(port, scrape_text, |p| {
        value(p, "retentiond_ready") == Some(1.0)
    });
    let from_the_database = [
        "retentiond_auto_delete",
        "retentiond_last_run_end_timestamp_seconds",
        "retentiond_last_run_duration_seconds",
        "retentiond_last_run_status",
        "retentiond_last_completed_night_timestamp_seconds",
        "retentiond_branch_held",
        "retentiond_guests_overdue",
        "retentiond_guests_due_soon",
        "retentiond_outbox_queued",
        "retentiond_outbox_given_up",
    ];
    for name in from_the_database {
        assert!(up.contains(&format!("# TYPE {name} gauge")), "{name}");
    }

    // the database refuses the daemon: new connections and the ones it has
    let admin = common::connect(&common::server_url()).await;
    admin
        .batch_execute(&format!(
            "ALTER DATABASE \"{0}\" ALLOW_CONNECTIONS false;
             SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{0}'",
            db.name
        ))
        .await
        .unwrap();
    let down = scrape_until(port, scrape_text, |p| {
        value(p, "retentiond_database_up") == Some(0.0)
    });
    assert_eq!(value(&down, "retentiond_ready"), Some(0.0));
    for name in from_the_database {
        assert!(
            !down.contains(name),
            "{name} while the database is down:\n{down}"
        );
    }
    // what the process counts itself stays
    let branch = format!("{{branch=\"{b}\"}}");
    assert_eq!(
        value(
            &down,
            &format!("retentiond_guests_anonymized_total{branch}")
        ),
        Some(0.0)
    );
    assert!(value(&down, "process_cpu_seconds_total").is_some());
    assert_promtool_accepts(&down);

    admin
        .batch_execute(&format!(
            "ALTER DATABASE \"{}\" ALLOW_CONNECTIONS true",
            db.name
        ))
        .await
        .unwrap();
    let back = scrape_until(port, scrape_text, |p| {
        value(p, "retentiond_ready") == Some(1.0)
    });
    assert_eq!(value(&back, "retentiond_database_up"), Some(1.0));
    assert_eq!(
        value(&back, &format!("retentiond_auto_delete{branch}")),
        Some(1.0)
    );
    let status = terminate(&mut daemon, Duration::from_secs(5));
    assert_eq!(status.code(), Some(0));
}

#[tokio::test]
async fn a_protocol_rewound_shows_as_a_restore_and_a_ledger_of_another_database_as_not_ok() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    fx::branch(&c, "Köln", None).await;
    for period in ["4 years", "5 years"] {
        common::ledger::set_period(&db, period);
    }
    // the owner cuts the newest seal off and sets the head back
    common::seals::tamper(
        &c,
        "DELETE FROM retention.action_protocol p WHERE p.id > (SELECT max(i) FROM
             retention.protocol_seals s, unnest(s.row_ids) i WHERE s.pos = 1);
         DELETE FROM retention.protocol_seals WHERE pos > 1;
         UPDATE retention.protocol_seal_head SET pos = 1,
             seal = (SELECT seal FROM retention.protocol_seals WHERE pos = 1)",
    )
    .await;
    let port = free_port();
    let mut daemon = serve_without_a_night(&db, port);
    let page = scrape_until(port, scrape_text, |p| {
        value(p, "retentiond_last_restore_timestamp_seconds").is_some_and(|t| t > 0.0)
            && value(p, "retentiond_ledger_ok") == Some(1.0)
    });
    terminate(&mut daemon, Duration::from_secs(5));
    let found = value(&page, "retentiond_last_restore_timestamp_seconds").unwrap();
    assert!(
        (found - Utc::now().timestamp() as f64).abs() < 120.0,
        "{found}"
    );

    // another database's ledger: the daemon does not start with it; one
    // that cannot be read any more while it runs is not ok
    let other = TestDb::migrated().await;
    fx::branch(&other.client().await, "Bonn", None).await;
    common::ledger::set_period(&other, "4 years");
    let port = free_port();
    let mut daemon = serve_without_a_night(&db, port);
    scrape_until(port, scrape_text, |p| {
        value(p, "retentiond_ledger_ok") == Some(1.0)
    });
    std::fs::copy(&other.ledger, &db.ledger).unwrap();
    let page = scrape_until(port, scrape_text, |p| {
        value(p, "retentiond_ledger_ok") == Some(0.0)
    });
    terminate(&mut daemon, Duration::from_secs(5));
    assert_eq!(value(&page, "retentiond_ready"), Some(1.0));
}
