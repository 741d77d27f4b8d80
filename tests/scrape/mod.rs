//! Scraping the daemon's metrics endpoint as Prometheus, curl and
//! promtool do, for tests/metrics.rs and tests/prometheus.rs.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use chrono::Utc;

use crate::common::TestDb;

/// The alert rules the package installs.
pub const RULES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/contrib/prometheus/alerts.yml");

/// What Prometheus sends: OpenMetrics first, the text format as fallback.
pub const PROMETHEUS: &str = "application/openmetrics-text;version=1.0.0,\
                          text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
/// What curl, promtool and prom2json send.
pub const ANY: &str = "*/*";

/// The page and its content type, as `accept` asks for it.
pub fn fetch(port: u16, accept: &str) -> Option<(String, String)> {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .write_all(
            format!("GET /metrics HTTP/1.1\r\nHost: localhost\r\nAccept: {accept}\r\n\r\n")
                .as_bytes(),
        )
        .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    assert!(head.starts_with("HTTP/1.1 200 OK"), "{head}");
    let content_type = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Type: "))
        .unwrap_or_default()
        .to_string();
    Some((content_type, body.to_string()))
}

/// The page as Prometheus asks for it (OpenMetrics).
pub fn scrape(port: u16) -> Option<String> {
    let (content_type, body) = fetch(port, PROMETHEUS)?;
    assert!(
        content_type.starts_with("application/openmetrics-text; version=1.0.0"),
        "{content_type}"
    );
    Some(body)
}

/// The page as curl and promtool ask for it (the text format 0.0.4).
pub fn scrape_text(port: u16) -> Option<String> {
    let (content_type, body) = fetch(port, ANY)?;
    assert_eq!(content_type, "text/plain; version=0.0.4; charset=utf-8");
    Some(body)
}

/// The first page, within 20 s, for which `until` holds.
pub fn scrape_until(
    port: u16,
    get: fn(u16) -> Option<String>,
    until: impl Fn(&str) -> bool,
) -> String {
    let start = Instant::now();
    loop {
        if let Some(page) = get(port).filter(|p| until(p)) {
            return page;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "no such page");
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub fn promtool(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new("promtool")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (Debian package prometheus; scripts/test installs it) is needed");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// `promtool check metrics`: the page parses as the text format and every
/// lint passes.
#[track_caller]
pub fn assert_promtool_accepts(page: &str) {
    let out = promtool(&["check", "metrics"], page);
    assert!(
        out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
        "promtool check metrics: {}{}\n{page}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The value of the sample named exactly `series` (with its labels).
pub fn value(page: &str, series: &str) -> Option<f64> {
    page.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// Starts `serve` with the metrics endpoint and no night due for hours.
pub fn serve_without_a_night(db: &TestDb, port: u16) -> Child {
    let listen = format!("127.0.0.1:{port}");
    let far = (Utc::now() + chrono::Duration::hours(12))
        .format("%H:%M")
        .to_string();
    db.command(
        &["serve"],
        &[
            ("RETENTIOND__METRICS__LISTEN", listen.as_str()),
            ("RETENTIOND__SCHEDULE__TICK", "1s"),
            ("RETENTIOND__SCHEDULE__NIGHTLY_AT", far.as_str()),
            ("RETENTIOND__MAIL__TRANSPORT", "log"),
        ],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .unwrap()
}

/// The series (name and labels) of a page in the text format.
pub fn series(page: &str) -> Vec<String> {
    page.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| l.rsplit_once(' ').map(|(s, _)| s.to_string()))
        .collect()
}
