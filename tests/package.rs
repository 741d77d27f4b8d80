//! The packaged install's operating path: a reload that checks the settings
//! first, the schema upgrade after a package upgrade (of every daemon on
//! the host), and admins who are not root but in the group `retentiond`.
//! What the .deb holds is in tests/deb.rs.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

use common::{stderr, stdout, TestDb};

/// /etc/retentiond of a packaged install, in a directory of its own.
fn etc(url: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("retentiond.toml"),
        format!(
            "[database]\nurl = {url:?}\npassword_file = {:?}\nconnect_timeout = \"3s\"\n",
            dir.path().join("db-password")
        ),
    )
    .unwrap();
    std::fs::write(dir.path().join("db-password"), "").unwrap();
    dir
}

fn upgrade(etc: &Path) -> Output {
    upgrade_instance(etc, None)
}

fn upgrade_instance(etc: &Path, instance: Option<&str>) -> Output {
    Command::new("sh")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/systemd/migrate-on-upgrade"
        ))
        .args(instance)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RETENTIOND_ETC", etc)
        .env("RETENTIOND_BIN", env!("CARGO_BIN_EXE_retentiond"))
        .env("RETENTIOND__LOG__LEVEL", "warn")
        .output()
        .unwrap()
}

#[tokio::test]
async fn a_package_upgrade_migrates_or_names_the_one_command_to_run() {
    let db = TestDb::empty().await;
    let dir = etc(&db.url);
    let out = upgrade(dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("schema migrated from version 0"),
        "{}",
        stdout(&out)
    );
    let version: i32 = db
        .client()
        .await
        .query_one("SELECT max(version) FROM retention.schema_migrations", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(version as usize, retentiond::db::migrate::MIGRATIONS.len());

    // the owner's URL in migrate.env wins over the service's settings
    std::fs::write(
        dir.path().join("migrate.env"),
        "RETENTIOND__DATABASE__URL='host=127.0.0.1 port=1 user=owner dbname=guests'\n",
    )
    .unwrap();
    let out = upgrade(dir.path());
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("the database schema was not upgraded"),
        "{err}"
    );
    assert!(err.contains("database unavailable"), "says why: {err}");
    assert!(
        err.contains("retentiond migrate && sudo systemctl restart retentiond"),
        "names the one command: {err}"
    );
}

#[tokio::test]
async fn a_package_upgrade_migrates_each_instances_database_with_its_own_settings() {
    let db = TestDb::empty().await;
    let dir = tempfile::tempdir().unwrap();
    // the instance `eu`: its own settings, and an owner's URL of its own
    std::fs::write(
        dir.path().join("eu.toml"),
        "[database]\nurl = \"host=127.0.0.1 port=1 user=nobody dbname=x\"\nconnect_timeout = \"3s\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("eu.migrate.env"),
        format!("RETENTIOND__DATABASE__URL='{}'\n", db.url),
    )
    .unwrap();
    let out = upgrade_instance(dir.path(), Some("eu"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with("retentiond@eu: "),
        "{}",
        stdout(&out)
    );
    let version: Option<i32> = db
        .client()
        .await
        .query_one("SELECT max(version) FROM retention.schema_migrations", &[])
        .await
        .unwrap()
        .get(0);
    assert!(version.is_some());
    // an instance whose database cannot be reached names its own command
    std::fs::remove_file(dir.path().join("eu.migrate.env")).unwrap();
    let out = upgrade_instance(dir.path(), Some("eu"));
    assert_eq!(out.status.code(), Some(1));
    let expected = format!(
        "retentiond --config {}/eu.toml migrate && sudo systemctl restart retentiond@eu",
        dir.path().display()
    );
    assert!(stderr(&out).contains(&expected), "{}", stderr(&out));
}

#[tokio::test]
async fn a_reload_checks_the_settings_first_and_fails_loudly() {
    let db = TestDb::migrated().await;
    let dir = etc(&db.url);
    let config = dir.path().join("retentiond.toml");
    let check = || {
        Command::new(env!("CARGO_BIN_EXE_retentiond"))
            .args(["check-config", "--quiet", "--config"])
            .arg(&config)
            .env_clear()
            .output()
            .unwrap()
    };
    let out = check();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).is_empty(), "quiet: {}", stdout(&out));
    std::fs::write(&config, "[batch]\nsize = \"0\"\n").unwrap();
    let out = check();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("batch.size"), "{}", stderr(&out));
    // the unit runs exactly this before it signals the daemon
    let unit = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/systemd/retentiond.service"
    ))
    .unwrap();
    let reloads: Vec<&str> = unit
        .lines()
        .filter(|l| l.starts_with("ExecReload="))
        .collect();
    assert_eq!(
        reloads,
        [
            "ExecReload=/usr/bin/retentiond check-config --quiet --config /etc/retentiond/retentiond.toml",
            "ExecReload=/bin/kill -HUP $MAINPID"
        ]
    );
    assert!(unit.contains("\nRestartPreventExitStatus=2\n"));
    assert!(unit.contains("\nTimeoutStartSec=5min\n"));
}

/// A system user and group of this test's own, removed when dropped.
struct Account {
    user: String,
    group: String,
}

impl Account {
    fn new(tag: &str) -> Account {
        let id = std::process::id();
        let a = Account {
            user: format!("rdadm{tag}{id}"),
            group: format!("rdgrp{tag}{id}"),
        };
        run("groupadd", &["--system", &a.group]);
        run(
            "useradd",
            &[
                "--system",
                "--no-create-home",
                "--shell",
                "/bin/sh",
                &a.user,
            ],
        );
        a
    }
}

impl Drop for Account {
    fn drop(&mut self) {
        let _ = Command::new("userdel").arg(&self.user).output();
        let _ = Command::new("groupdel").arg(&self.group).output();
    }
}

fn run(cmd: &str, args: &[&str]) {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd} (this test runs as root, as CI does): {e}"));
    assert!(out.status.success(), "{cmd} {args:?}: {}", stderr(&out));
}

#[tokio::test]
async fn an_admin_in_the_group_uses_the_services_settings_and_others_are_told_how() {
    if !common::is_root() {
        // creating users needs root; CI runs as root
        eprintln!("SKIPPED: this test creates two system users and needs root");
        return;
    }
    let db = TestDb::migrated().await;
    let dir = etc(&db.url);
    let admin = Account::new("in");
    let outsider = Account::new("out");
    run(
        "usermod",
        &["--append", "--groups", &admin.group, &admin.user],
    );
    // as the package leaves them: 0640 root:GROUP, in a directory others may enter
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    for f in ["retentiond.toml", "db-password"] {
        let path = dir.path().join(f);
        run(
            "chown",
            &[&format!("root:{}", admin.group), path.to_str().unwrap()],
        );
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    }
    let config = dir.path().join("retentiond.toml");
    let as_user = |user: &str, args: &[&str]| {
        Command::new("runuser")
            .args([
                "-u",
                user,
                "--",
                env!("CARGO_BIN_EXE_retentiond"),
                "--config",
            ])
            .arg(&config)
            .args(args)
            .current_dir("/")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("RETENTIOND__LOG__LEVEL", "warn")
            .output()
            .unwrap()
    };
    let out = as_user(&admin.user, &["status", "--format", "json"]);
    assert!(
        matches!(out.status.code(), Some(0 | 3)),
        "the admin reads the settings and reaches the database: {}",
        stderr(&out)
    );
    assert!(serde_json::from_slice::<serde_json::Value>(&out.stdout).is_ok());
    let out = as_user(&outsider.user, &["status"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("cannot be read") && err.contains("Permission denied"),
        "{err}"
    );
    assert!(
        err.contains("sudo adduser $USER retentiond"),
        "says what to do: {err}"
    );
}
