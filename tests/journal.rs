//! Under systemd the daemon logs in the journal's own protocol: a priority
//! per level (`journalctl -p err`) and fields such as RUN_ID and BRANCH_ID
//! (`journalctl RUN_ID=42`). The test stands in for journald: it listens on
//! a socket of its own, bind-mounted over /run/systemd/journal in a mount
//! namespace of the process (unshare; without root in a user namespace).

mod common;

use std::collections::HashMap;
use std::os::unix::net::UnixDatagram;
use std::process::{Command, Stdio};
use std::time::Duration;

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

    let dir = tempfile::tempdir().unwrap();
    let journal = UnixDatagram::bind(dir.path().join("socket")).unwrap();
    journal
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let cmd = db.command(
        &[],
        &[
            ("RETENTIOND__LOG__FORMAT", "auto"),
            ("JOURNAL_STREAM", "8:42"),
        ],
    );
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
    let out = Command::new("unshare")
        .args(namespace)
        .args(["sh", "-c"])
        .arg(
            "mount -t tmpfs none /run && mkdir -p /run/systemd/journal && \
             mount --bind \"$1\" /run/systemd/journal && exec \"$2\" run --yes --branch \"$3\"",
        )
        .arg("sh")
        .arg(dir.path())
        .arg(env!("CARGO_BIN_EXE_retentiond"))
        .arg(b.to_string())
        .env_clear()
        .envs(envs)
        .stdin(Stdio::null())
        .output()
        .expect("unshare (util-linux) runs the binary in a mount namespace");
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

    let mut entries = Vec::new();
    let mut buf = vec![0u8; 1 << 20];
    while let Ok(n) = journal.recv(&mut buf) {
        if n > 0 {
            entries.push(parse(&buf[..n]));
        }
    }
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
