//! Operations: the sd_notify messages of `serve`, SIGHUP reloads, `status`
//! in each state, the systemd unit and the template unit for one daemon
//! per database, and two databases on one host.

mod common;

use std::io::Read;
use std::os::unix::net::UnixDatagram;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{day, expect_code, fx, stdout, TestDb};

struct Daemon {
    child: Child,
    socket: UnixDatagram,
    _dir: tempfile::TempDir,
}

fn spawn(db: &TestDb, args: &[&str], dir: tempfile::TempDir) -> Daemon {
    let path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let child = db
        .command(
            args,
            &[
                ("NOTIFY_SOCKET", path.to_str().unwrap()),
                ("WATCHDOG_USEC", "400000"),
            ],
        )
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    Daemon {
        child,
        socket,
        _dir: dir,
    }
}

impl Daemon {
    /// Waits for a datagram that contains `what`; returns it.
    fn expect(&self, what: &str, within: Duration) -> String {
        let start = Instant::now();
        let mut buf = [0u8; 4096];
        let mut seen = Vec::new();
        while start.elapsed() < within {
            if let Ok(n) = self.socket.recv(&mut buf) {
                let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
                if msg.contains(what) {
                    return msg;
                }
                seen.push(msg);
            }
        }
        panic!("no {what:?} within {within:?}; got {seen:?}");
    }

    fn signal(&self, sig: &str) {
        common::signal(&self.child, sig);
    }

    /// SIGTERM, then the exit code and everything it logged.
    fn stop(mut self) -> (Option<i32>, String) {
        let status = common::terminate(&mut self.child, Duration::from_secs(5));
        let mut log = String::new();
        self.child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut log)
            .unwrap();
        (status.code(), log)
    }
}

#[tokio::test]
async fn serve_notifies_ready_watchdog_status_and_stopping() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let b = fx::branch(&c, "Köln", None).await;
    fx::branch_settings_auto_delete(&c, b).await;
    let d = spawn(&db, &["serve"], tempfile::tempdir().unwrap());
    let ready = d.expect("READY=1", Duration::from_secs(20));
    assert!(ready.contains("STATUS=next run at"), "{ready}");
    assert!(ready.contains(&format!("(branch {b})")), "{ready}");
    d.expect("WATCHDOG=1", Duration::from_secs(2));
    d.expect("WATCHDOG=1", Duration::from_secs(2));
    d.signal("-TERM");
    d.expect("STOPPING=1", Duration::from_secs(5));
    let (code, _) = d.stop();
    assert_eq!(code, Some(0));
}

#[tokio::test]
async fn serve_says_in_its_status_line_that_it_waits_for_an_unreachable_database() {
    let mut db = TestDb::migrated().await;
    // the same test database, at a port nobody listens on
    let real = db.url.clone();
    db.url = format!(
        "host=127.0.0.1 port={} user=postgres dbname=x",
        common::free_port()
    );
    let d = spawn(&db, &["serve"], tempfile::tempdir().unwrap());
    let waiting = d.expect("STATUS=waiting for the database: ", Duration::from_secs(10));
    assert!(waiting.contains("database unavailable"), "{waiting}");
    assert!(!waiting.contains("READY=1"), "{waiting}");
    let (code, _) = d.stop();
    assert_eq!(code, Some(0), "SIGTERM while waiting ends it cleanly");
    db.url = real;
}

#[tokio::test]
async fn serve_waits_for_migrate_with_a_status_line_and_is_ready_after_it() {
    // an upgraded binary on a schema not yet migrated: no exit into a
    // restart loop, a STATUS line that names the command, never READY
    let db = TestDb::empty().await;
    let d = spawn(&db, &["serve"], tempfile::tempdir().unwrap());
    let waiting = d.expect(
        "STATUS=waiting for `retentiond migrate`",
        Duration::from_secs(10),
    );
    assert!(!waiting.contains("READY=1"), "{waiting}");
    std::thread::sleep(Duration::from_millis(1500));
    let mut buf = [0u8; 4096];
    while let Ok(n) = d.socket.recv(&mut buf) {
        let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
        assert!(!msg.contains("READY=1"), "ready on an old schema: {msg}");
    }
    // the operator migrates: the daemon goes on by itself
    expect_code(&db.cli(&["migrate"]), 0);
    d.expect("READY=1", Duration::from_secs(20));
    let (code, log) = d.stop();
    assert_eq!(code, Some(0));
    assert!(log.contains("retentiond migrate"), "{log}");
}

#[tokio::test]
async fn sighup_reloads_valid_settings_and_keeps_the_old_on_invalid_ones() {
    let db = TestDb::migrated().await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("retentiond.toml");
    std::fs::write(&config, "[schedule]\nnightly_at = \"02:30\"\n").unwrap();
    let d = spawn(&db, &["serve", "--config", config.to_str().unwrap()], dir);
    d.expect("READY=1", Duration::from_secs(20));

    std::fs::write(&config, "[schedule]\nnightly_at = \"03:15\"\n").unwrap();
    d.signal("-HUP");
    d.expect("RELOADING=1", Duration::from_secs(5));
    d.expect("READY=1", Duration::from_secs(5));

    std::fs::write(&config, "[schedule]\nnightly_at = \"25:99\"\n").unwrap();
    d.signal("-HUP");
    d.expect("RELOADING=1", Duration::from_secs(5));
    d.expect("READY=1", Duration::from_secs(5));
    d.expect("WATCHDOG=1", Duration::from_secs(2));

    let (code, log) = d.stop();
    assert_eq!(code, Some(0), "the daemon survives a bad reload: {log}");
    assert!(log.contains("settings reloaded"), "{log}");
    assert!(
        log.contains("settings not reloaded, the previous ones stay in force")
            && log.contains("schedule.nightly_at = \"25:99\""),
        "{log}"
    );
    assert_eq!(log.matches("settings reloaded").count(), 1, "{log}");
}

fn status(db: &TestDb) -> (Option<i32>, String, serde_json::Value) {
    let table = db.cli(&["status"]);
    let json = db.cli(&["status", "--format", "json"]);
    assert_eq!(table.status.code(), json.status.code());
    (
        table.status.code(),
        stdout(&table),
        serde_json::from_str(&stdout(&json)).unwrap(),
    )
}

#[tokio::test]
async fn status_is_ok_on_a_fresh_database() {
    let db = TestDb::migrated().await;
    let (code, text, json) = status(&db);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("state: ok"), "{text}");
    assert_eq!(json["schema"]["ok"], true);
    assert_eq!(json["attention"], serde_json::json!([]));
}

#[tokio::test]
async fn status_shows_runs_next_runs_locks_and_unconfigured_types() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let b = fx::branch(&c, "Köln", None).await;
    fx::policy(&c, b, "guest", "3 years").await;
    fx::branch_settings_auto_delete(&c, b).await;
    let g = fx::guest(&c, b, day("2020-01-01")).await;
    fx::sale(&c, g, day("2020-01-01")).await;
    expect_code(&db.cli(&["run", "--yes"]), 0);
    c.execute(
        "SELECT pg_advisory_lock(retention.branch_lock_key($1))",
        &[&b],
    )
    .await
    .unwrap();
    let (code, text, json) = status(&db);
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(json["last_runs"][0]["status"], "completed");
    assert_eq!(json["last_runs"][0]["anonymized"], 1);
    assert_eq!(json["next_runs"][0]["branch_id"], b);
    assert_eq!(json["locks"][0]["branch_id"], b);
    assert_eq!(json["auto_delete_unconfigured"][0]["branch_id"], b);
    assert!(
        text.contains("has automatic deletion on but no period for"),
        "{text}"
    );
    assert!(
        text.contains(&format!("branch {b} is being processed")),
        "{text}"
    );
}

#[tokio::test]
async fn status_needs_attention_for_a_failed_run_a_held_branch_and_failed_mail() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let failed = fx::branch(&c, "Köln", None).await;
    let held = fx::branch(&c, "Bonn", None).await;
    c.execute(
        "INSERT INTO retention.runs (kind, actor, branches, cutoff, started_at, finished_at, status, error)
         VALUES ('manual', 'alice', ARRAY[$1::bigint], now(), now(), now(), 'failed', 'database error')",
        &[&failed],
    )
    .await
    .unwrap();
    let (code, text, json) = status(&db);
    assert_eq!(code, Some(3), "{text}");
    assert_eq!(json["failed_last_run"], serde_json::json!([failed]));

    c.execute(
        "INSERT INTO retention.runs (kind, actor, branches, night_branch_id, night, cutoff, started_at,
                                     finished_at, status, held)
         VALUES ('scheduled', 'retentiond', ARRAY[$1::bigint], $1, '2026-11-25', now(), now(), now(),
                 'held', jsonb_build_array(jsonb_build_object('branch_id', $1::bigint)))",
        &[&held],
    )
    .await
    .unwrap();
    let (code, text, json) = status(&db);
    assert_eq!(code, Some(3));
    assert_eq!(json["held_branches"], serde_json::json!([held]));
    assert!(
        text.contains(&format!("retentiond run --branch {held}")),
        "{text}"
    );

    c.execute(
        "INSERT INTO retention.mail_outbox (kind, locale, recipients, message_id, subject, body_text,
                                            body_html, created_at, next_attempt_at, failed_at, attempts)
         VALUES ('test', 'de', ARRAY['a@example.org'], '<x@y>', 's', 't', 'h', now(), now(), now(), 8)",
        &[],
    )
    .await
    .unwrap();
    let (_, _, json) = status(&db);
    assert_eq!(json["outbox"]["failed_last_7_days"], 1);
    assert_eq!(json["attention"].as_array().unwrap().len(), 3);

    // a manual run after the failure and the hold clears both
    for b in [failed, held] {
        fx::policy(&c, b, "guest", "3 years").await;
        let g = fx::guest(&c, b, day("2020-01-01")).await;
        fx::sale(&c, g, day("2020-01-01")).await;
        expect_code(&db.cli(&["run", "--branch", &b.to_string(), "--yes"]), 0);
    }
    let (_, _, json) = status(&db);
    assert_eq!(json["attention"].as_array().unwrap().len(), 1, "{json}");
}

#[tokio::test]
async fn status_on_an_old_schema_or_no_database() {
    let db = TestDb::empty().await;
    let out = db.cli(&["status"]);
    expect_code(&out, 3);
    assert!(
        stdout(&out).contains("retentiond migrate"),
        "{}",
        stdout(&out)
    );
    let out = db.cli_env(
        &["status"],
        &[(
            "RETENTIOND__DATABASE__URL",
            "postgres://nobody@127.0.0.1:1/none",
        )],
    );
    expect_code(&out, 1);
}

fn unit(name: &str) -> String {
    std::fs::read_to_string(format!("{}/systemd/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// `systemd-analyze verify` without a word, and `security` at 2.0 or less.
fn verify_and_rate(name: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    // verify checks that ExecStart exists: point it at the built binary
    std::fs::write(
        &path,
        unit(name).replace("/usr/bin/retentiond", env!("CARGO_BIN_EXE_retentiond")),
    )
    .unwrap();
    // verify opens the pages Documentation= names: the binary's own
    let man = dir.path().join("man");
    let pages = Command::new(env!("CARGO_BIN_EXE_retentiond"))
        .args(["man", "--dir"])
        .arg(&man)
        .output()
        .unwrap();
    assert!(pages.status.success());
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .env("MANPATH", &man)
        .output()
        .expect("systemd-analyze (Debian package systemd) is needed for this test");
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "{name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // exposure 2.0 or lower (the threshold is in tenths)
    let out = Command::new("systemd-analyze")
        .args(["security", "--offline=true", "--threshold=20"])
        .arg(&path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{name}: {text}");
    assert!(text.contains("Overall exposure level"), "{text}");
}

#[test]
fn the_units_verify_and_are_hardened() {
    for name in ["retentiond.service", "retentiond@.service"] {
        verify_and_rate(name);
        let text = unit(name);
        for line in [
            "Type=notify",
            "WatchdogSec=",
            "Restart=on-failure",
            "RestartPreventExitStatus=2",
            "UMask=0077",
        ] {
            assert!(text.contains(line), "{name}: {line}");
        }
        // an allow list without a deny list filters nothing
        let has = |key: &str| text.lines().any(|l| l.starts_with(key));
        assert!(
            !has("IPAddressAllow=") || has("IPAddressDeny="),
            "{name}: IPAddressAllow= without IPAddressDeny="
        );
    }
}

#[test]
fn the_template_unit_gives_each_instance_its_settings_state_and_journal_identifier() {
    let template = unit("retentiond@.service");
    for line in [
        "ExecStart=/usr/bin/retentiond serve --config /etc/retentiond/%i.toml",
        "ExecReload=/usr/bin/retentiond check-config --quiet --config /etc/retentiond/%i.toml",
        "StateDirectory=retentiond/%i",
        "SyslogIdentifier=retentiond-%i",
        "Environment=RETENTIOND__LOG__IDENTIFIER=retentiond-%i",
        "LoadCredential=db-password:/etc/retentiond/%i.db-password",
        "LoadCredential=smtp-password:/etc/retentiond/%i.smtp-password",
        "EnvironmentFile=-/etc/retentiond/%i.environment",
    ] {
        assert!(template.lines().any(|l| l == line), "{line}");
    }
    // hardened exactly as the single daemon: the same lines from
    // NoNewPrivileges= on
    let hardening = |text: &str| -> Vec<String> {
        text.lines()
            .skip_while(|l| !l.starts_with("NoNewPrivileges="))
            .filter(|l| !l.starts_with('#'))
            .map(String::from)
            .collect()
    };
    let single = unit("retentiond.service");
    assert!(!hardening(&single).is_empty());
    assert_eq!(hardening(&template), hardening(&single));
}

/// A settings file of one instance, as /etc/retentiond/NAME.toml.
fn instance_settings(dir: &std::path::Path, name: &str, db: &TestDb, port: u16) -> String {
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(
        &path,
        format!(
            "[database]\nurl = {:?}\n\n[metrics]\nlisten = \"127.0.0.1:{port}\"\n\n\
             [schedule]\ntick = \"1s\"\n",
            db.url
        ),
    )
    .unwrap();
    path.to_str().unwrap().to_string()
}

#[tokio::test]
async fn two_databases_on_one_host_each_with_its_daemon_settings_and_metrics_port() {
    let (eu, us) = (TestDb::migrated().await, TestDb::migrated().await);
    let (ce, cu) = (eu.client().await, us.client().await);
    fx::branch(&ce, "Köln", None).await;
    for name in ["Boston", "Austin", "Denver"] {
        fx::branch(&cu, name, None).await;
    }
    let dir = tempfile::tempdir().unwrap();
    let ports = (common::free_port(), common::free_port());
    let configs = (
        instance_settings(dir.path(), "eu", &eu, ports.0),
        instance_settings(dir.path(), "us", &us, ports.1),
    );
    // as retentiond@eu and retentiond@us start them; the database's URL
    // comes from each file alone
    // systemd's StateDirectory=retentiond/%i: the instance's ledger is there
    let state = |name: &str| {
        let d = dir.path().join("state").join(name);
        std::fs::create_dir_all(&d).unwrap();
        d
    };
    let start = |config: &str, name: &str| {
        Command::new(env!("CARGO_BIN_EXE_retentiond"))
            .args(["serve", "--config", config])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("STATE_DIRECTORY", state(name))
            .env("RETENTIOND__LOG__IDENTIFIER", format!("retentiond-{name}"))
            .env("RETENTIOND__LOG__FORMAT", "journal")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let mut daemons = [start(&configs.0, "eu"), start(&configs.1, "us")];
    let branches = |port: u16| -> Option<usize> {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            .ok()?;
        let mut page = String::new();
        s.read_to_string(&mut page).ok()?;
        page.contains("\nretentiond_ready 1\n").then(|| {
            page.lines()
                .filter(|l| l.starts_with("retentiond_auto_delete{"))
                .count()
        })
    };
    let begin = Instant::now();
    let seen = loop {
        if let (Some(e), Some(u)) = (branches(ports.0), branches(ports.1)) {
            break (e, u);
        }
        assert!(begin.elapsed() < Duration::from_secs(20), "not both ready");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(seen, (1, 3), "each daemon serves its own database");
    for d in &mut daemons {
        assert_eq!(common::terminate(d, Duration::from_secs(5)).code(), Some(0));
    }
    // each instance keeps its ledger in its own state directory
    for name in ["eu", "us"] {
        let ledger = std::fs::metadata(state(name).join("ledger")).expect("the instance's ledger");
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&ledger.permissions()) & 0o777,
            0o600
        );
    }
    // the admins' commands take the instance's file too
    let out = Command::new(env!("CARGO_BIN_EXE_retentiond"))
        .args(["--config", &configs.1, "policy", "show", "--format", "json"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .output()
        .unwrap();
    expect_code(&out, 0);
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&out.stdout)
            .unwrap()
            .as_array()
            .map(Vec::len),
        Some(3 * 5)
    );
}
