//! Under systemd the daemon logs in the journal's own protocol: a priority
//! per level (`journalctl -p err`) and fields such as RUN_ID and BRANCH_ID
//! (`journalctl RUN_ID=42`); the errors that end the process are there too,
//! at priority err. The test stands in for journald: it listens on a socket
//! of its own, bind-mounted over /run/systemd/journal in a mount namespace
//! of the process (unshare; without root in a user namespace), and sets
//! JOURNAL_STREAM to the process's stderr as systemd does.

mod common;

use std::collections::HashMap;
use std::io::BufRead;
use std::os::unix::net::UnixDatagram;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{day, fx, stderr, TestDb};

/// One journal entry: the native protocol's `KEY=value` lines, or `KEY`, a
/// little-endian length and the bytes for values with newlines.
fn parse(datagram: &[u8]) -> HashMap<String, String> {
    let mut entry = HashMap::new();
    let mut rest = datagram;
    while !rest.is_empty() {
        let line_end = rest.iter().position(|b| *b == b'\n').unwrap_or(rest.len());
        let line = &rest[..line_end];
        if let Some(eq) = line.iter().position(|b| *b == b'=') {
            entry.insert(
                String::from_utf8_lossy(&line[..eq]).into_owned(),
                String::from_utf8_lossy(&line[eq + 1..]).into_owned(),
            );
            rest = &rest[(line_end + 1).min(rest.len())..];
        } else {
            let key = String::from_utf8_lossy(line).into_owned();
            let after = &rest[line_end + 1..];
            let len = u64::from_le_bytes(after[..8].try_into().unwrap()) as usize;
            entry.insert(
                key,
                String::from_utf8_lossy(&after[8..8 + len]).into_owned(),
            );
            rest = &after[(8 + len + 1).min(after.len())..];
        }
    }
    entry
}

/// Runs the binary with a journal of the test's own; its exit, and every
/// entry the journal received.
fn under_journal(
    db: &TestDb,
    args: &[&str],
    env: &[(&str, &str)],
) -> (Output, Vec<HashMap<String, String>>) {
    let dir = tempfile::tempdir().unwrap();
    let journal = UnixDatagram::bind(dir.path().join("socket")).unwrap();
    journal
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let cmd = db.command(&[], env);
    let envs: Vec<(String, String)> = cmd
        .get_envs()
        .filter_map(|(k, v)| Some((k.to_str()?.to_string(), v?.to_str()?.to_string())))
        .collect();
    // as root a mount namespace; otherwise a user namespace with one
    let namespace: &[&str] = if common::is_root() {
        &["--mount"]
    } else {
        &["--user", "--map-root-user", "--mount"]
    };
    // JOURNAL_STREAM names the device and inode of stderr, as systemd sets it
    let out = Command::new("unshare")
        .args(namespace)
        .args(["sh", "-c"])
        .arg(
            "mount -t tmpfs none /run && mkdir -p /run/systemd/journal && \
             mount --bind \"$1\" /run/systemd/journal && \
             JOURNAL_STREAM=$(stat -L -c %d:%i /proc/self/fd/2) && export JOURNAL_STREAM && \
             shift 2 && exec \"$0\" \"$@\"",
        )
        .arg(env!("CARGO_BIN_EXE_retentiond"))
        .arg(dir.path())
        .arg("--")
        .args(args)
        .env_clear()
        .envs(envs)
        .stdin(Stdio::null())
        .output()
        .expect("unshare (util-linux) runs the binary in a mount namespace");
    let mut entries = Vec::new();
    let mut buf = vec![0u8; 1 << 20];
    while let Ok(n) = journal.recv(&mut buf) {
        if n > 0 {
            entries.push(parse(&buf[..n]));
        }
    }
    (out, entries)
}

#[tokio::test]
async fn a_failed_run_is_an_error_in_the_journal_with_its_run_and_branch() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let b = fx::branch(&c, "Köln", None).await;
    fx::policy(&c, b, "guest", "3 years").await;
    let g = fx::guest(&c, b, day("2020-01-01")).await;
    fx::sale(&c, g, day("2020-01-01")).await;
    // the POS refuses anonymized names: the run fails
    c.batch_execute(
        "ALTER TABLE guests ADD CONSTRAINT pos_names CHECK (last_name <> 'DSGVO') NOT VALID",
    )
    .await
    .unwrap();

    let (out, entries) = under_journal(
        &db,
        &["run", "--yes", "--branch", &b.to_string()],
        &[("RETENTIOND__LOG__FORMAT", "auto")],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "the run fails: {}",
        stderr(&out)
    );
    assert!(
        !stderr(&out).contains("run failed"),
        "the log went to the journal, not to stderr: {}",
        stderr(&out)
    );

    let run_id: i64 = c
        .query_one("SELECT id FROM retention.runs", &[])
        .await
        .unwrap()
        .get(0);
    let failed = entries
        .iter()
        .find(|e| e.get("MESSAGE").is_some_and(|m| m.contains("run failed")))
        .unwrap_or_else(|| panic!("no 'run failed' entry in {entries:#?}"));
    assert_eq!(failed["PRIORITY"], "3", "journalctl -p err shows it");
    assert_eq!(
        failed["RUN_ID"],
        run_id.to_string(),
        "journalctl RUN_ID=… finds it"
    );
    assert_eq!(failed["BRANCH_ID"], b.to_string());
    assert_eq!(failed["SYSLOG_IDENTIFIER"], "retentiond");
    let finished = entries
        .iter()
        .find(|e| e.get("MESSAGE").is_some_and(|m| m == "run finished"))
        .expect("a 'run finished' entry");
    assert_eq!(finished["PRIORITY"], "6", "info is informational");
    assert_eq!(finished["RUN_ID"], run_id.to_string());
    // every entry of the run's batches carries the run (span fields)
    assert!(
        entries
            .iter()
            .filter(|e| e.contains_key("BATCH_ROWS"))
            .all(|e| e.get("RUN_ID") == Some(&run_id.to_string())),
        "{entries:#?}"
    );
}

#[tokio::test]
async fn invalid_settings_at_start_are_an_error_in_the_journal() {
    let db = TestDb::migrated().await;
    let (out, entries) = under_journal(
        &db,
        &["serve"],
        &[
            ("RETENTIOND__LOG__FORMAT", "auto"),
            ("RETENTIOND__BATCH__SIZE", "0"),
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let entry = entries
        .iter()
        .find(|e| e.get("MESSAGE").is_some_and(|m| m.contains("batch.size")))
        .unwrap_or_else(|| panic!("no entry names the key: {entries:#?}"));
    assert_eq!(entry["PRIORITY"], "3", "journalctl -p err shows it");
    assert_eq!(entry["EXIT_CODE"], "2");
    assert_eq!(entry["SYSLOG_IDENTIFIER"], "retentiond");
    assert!(
        entry["MESSAGE"].starts_with("invalid settings:"),
        "{}",
        entry["MESSAGE"]
    );
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
}

#[tokio::test]
async fn a_port_in_use_is_an_error_in_the_journal_under_the_instances_identifier() {
    let db = TestDb::migrated().await;
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let listen = taken.local_addr().unwrap().to_string();
    let (out, entries) = under_journal(
        &db,
        &["serve"],
        &[
            ("RETENTIOND__LOG__FORMAT", "journal"),
            ("RETENTIOND__LOG__IDENTIFIER", "retentiond-eu"),
            ("RETENTIOND__METRICS__LISTEN", listen.as_str()),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let entry = entries
        .iter()
        .find(|e| e.get("PRIORITY").is_some_and(|p| p == "3"))
        .unwrap_or_else(|| panic!("no error entry: {entries:#?}"));
    assert!(
        entry["MESSAGE"].contains(&format!("cannot listen on metrics.listen = {listen}")),
        "{}",
        entry["MESSAGE"]
    );
    assert_eq!(entry["SYSLOG_IDENTIFIER"], "retentiond-eu");
}

#[tokio::test]
async fn with_a_json_log_a_fatal_error_is_one_json_object() {
    let db = TestDb::migrated().await;
    let out = db.cli_env(
        &["status"],
        &[
            ("RETENTIOND__LOG__FORMAT", "json"),
            ("RETENTIOND__SCHEDULE__TICK", "0s"),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let lines: Vec<&str> = out
        .stderr
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| std::str::from_utf8(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    let doc: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(doc["level"], "ERROR", "{doc}");
    assert_eq!(doc["exit_code"], 2, "{doc}");
    assert!(
        doc["message"]
            .as_str()
            .unwrap()
            .contains("schedule.tick = \"0s\""),
        "{doc}"
    );
    // on a terminal's log format the same text as ever
    let out = db.cli_env(
        &["status"],
        &[
            ("RETENTIOND__LOG__FORMAT", "pretty"),
            ("RETENTIOND__SCHEDULE__TICK", "0s"),
        ],
    );
    assert!(
        stderr(&out).starts_with("error: invalid settings:\n  - schedule.tick = \"0s\""),
        "{}",
        stderr(&out)
    );
}

#[tokio::test]
async fn the_daemon_logs_no_chatter_of_its_libraries() {
    let db = TestDb::migrated().await;
    let mut daemon = db
        .command(
            &["serve"],
            &[
                ("RETENTIOND__LOG__FORMAT", "json"),
                ("RETENTIOND__SCHEDULE__TICK", "1s"),
            ],
        )
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let log = std::io::BufReader::new(daemon.stderr.take().unwrap());
    std::thread::spawn(move || {
        for line in log.lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let start = Instant::now();
    let mut lines: Vec<String> = Vec::new();
    // the scheduler is created and started before this line
    while !lines.iter().any(|l| l.contains("daemon started")) {
        let left = Duration::from_secs(20).saturating_sub(start.elapsed());
        match rx.recv_timeout(left) {
            Ok(line) => lines.push(line),
            Err(_) => panic!("the daemon did not start: {lines:#?}"),
        }
    }
    let status = common::terminate(&mut daemon, Duration::from_secs(5));
    assert_eq!(status.code(), Some(0));
    // the rest, until the pipe closes
    while let Ok(line) = rx.recv_timeout(Duration::from_secs(5)) {
        lines.push(line);
    }
    assert!(
        lines.iter().any(|l| l.contains("daemon stopped")),
        "{lines:#?}"
    );
    for line in &lines {
        let doc: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(
            doc["target"].as_str().unwrap().starts_with("retentiond"),
            "a library's message: {line}"
        );
    }
}
