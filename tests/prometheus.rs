//! What Prometheus itself reads: the OpenMetrics page, through its own
//! parser, and the alert rules the package ships, through `promtool check
//! rules` and their unit tests (`promtool test rules`).

mod common;
mod scrape;

use std::process::Command;
use std::time::Duration;

use chrono::Utc;
use common::{free_port, fx, terminate, TestDb};
use scrape::*;

#[test]
fn the_alert_rules_pass_promtool_and_their_unit_tests() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/contrib/prometheus");
    for args in [
        ["check", "rules", "alerts.yml"],
        ["test", "rules", "alerts_test.yml"],
    ] {
        let out = Command::new("promtool")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("promtool (Debian package prometheus; scripts/test installs it) is needed");
        assert!(
            out.status.success(),
            "promtool {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // each alert the operators asked for has a rule, and a unit test
    let rules = std::fs::read_to_string(RULES).unwrap();
    let tests = std::fs::read_to_string(format!("{dir}/alerts_test.yml")).unwrap();
    for alert in [
        "RetentiondTargetDown",
        "RetentiondDatabaseDown",
        "RetentiondNotReady",
        "RetentiondLastRunFailed",
        "RetentiondNoNightCompleted",
        "RetentiondFirstNightNotCompleted",
        "RetentiondOverdueNotShrinking",
        "RetentiondMailsGivenUp",
    ] {
        assert!(rules.contains(&format!("- alert: {alert}\n")), "{alert}");
        assert!(
            tests.contains(&format!("alertname: {alert}\n")),
            "{alert} has no test"
        );
    }
}

#[tokio::test]
async fn openmetrics_is_served_when_asked_for_and_prometheus_parses_it() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let b = fx::branch(&c, "Köln", None).await;
    fx::branch_settings_auto_delete(&c, b).await;
    let port = free_port();
    let mut daemon = serve_without_a_night(&db, port);
    let page = scrape_until(port, scrape, |p| value(p, "retentiond_ready") == Some(1.0));
    let status = terminate(&mut daemon, Duration::from_secs(5));
    assert_eq!(status.code(), Some(0));
    assert!(page.ends_with("# EOF\n"), "{page}");
    assert!(
        page.contains("# TYPE retentiond_guests_anonymized counter\n"),
        "{page}"
    );

    // Prometheus' OpenMetrics parser (promtool's backfill reads it; it
    // wants a timestamp on each sample, which a scrape adds itself)
    let now = Utc::now().timestamp();
    let stamped: String = page
        .lines()
        .map(|l| match l.starts_with('#') {
            true => format!("{l}\n"),
            false => format!("{l} {now}\n"),
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("page.om");
    std::fs::write(&input, stamped).unwrap();
    let out = Command::new("promtool")
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg(&input)
        .arg(dir.path().join("blocks"))
        .output()
        .expect("promtool (Debian package prometheus; scripts/test installs it) is needed");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // promtool check metrics reads only the text format: on OpenMetrics it
    // misses the help of each counter's `_total` sample (OpenMetrics names
    // the family without it), and finds nothing else
    let out = promtool(&["check", "metrics"], &page);
    assert!(
        matches!(out.status.code(), Some(0 | 3)),
        "parsed, at most lint problems: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let counters: Vec<&str> = page
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE ")?.strip_suffix(" counter"))
        .collect();
    for problem in String::from_utf8_lossy(&out.stderr).lines() {
        let name = problem
            .strip_suffix("_total no help text")
            .unwrap_or_else(|| panic!("{problem}"));
        assert!(counters.contains(&name), "{problem}");
    }
}
