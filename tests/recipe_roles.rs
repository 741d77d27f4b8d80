//! The operator guide's role setup, followed literally: a fresh PostgreSQL
//! 15 cluster with password authentication, a database owned by someone
//! else, the README's block run line by line by bash, then a daemon that
//! starts as the login the recipe made and reports ready.

mod common;

use std::io::Read;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const ADMIN_PASSWORD: &str = "admin-7Hq2";
const DAEMON_PASSWORD: &str = "daemon-9Kx4";

/// A private cluster, stopped when dropped.
struct Cluster {
    dir: tempfile::TempDir,
    port: String,
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn bash(script: &str, env: &[(&str, &str)]) -> std::process::Output {
    Command::new("bash")
        .args(["-euo", "pipefail", "-c", script])
        .current_dir(repo())
        .envs(env.iter().copied())
        .output()
        .expect("run bash")
}

impl Cluster {
    /// initdb, a superuser with a password, password authentication over
    /// TCP, and `guests` owned by the POS's own role.
    fn start() -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display().to_string();
        let out = bash(
            &format!(
                ". scripts/lib/pg.sh
                 chmod 0755 '{d}'
                 pg_start '{d}/pg' >/dev/null
                 psql -qX -h '{d}/pg/sock' -p \"$(cat '{d}/pg/port')\" -U postgres postgres \
                   -c \"ALTER ROLE postgres PASSWORD '{ADMIN_PASSWORD}'\" \
                   -c 'CREATE ROLE pos LOGIN' -c 'CREATE DATABASE guests OWNER pos'
                 sed -i 's/^host\\(.*\\)trust$/host\\1scram-sha-256/' '{d}/pg/data/pg_hba.conf'
                 pg_as_owner \"$PG_BIN/pg_ctl\" --pgdata='{d}/pg/data' reload >/dev/null
                 cat '{d}/pg/port'"
            ),
            &[],
        );
        assert!(
            out.status.success(),
            "cluster: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let port = String::from_utf8_lossy(&out.stdout).trim().to_string();
        Cluster { dir, port }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let d = self.dir.path().display().to_string();
        let _ = bash(&format!(". scripts/lib/pg.sh; pg_stop '{d}/pg'"), &[]);
    }
}

/// The README's block after the marker that names this test.
fn recipe() -> String {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let start = readme
        .find("<!-- tests/recipe_roles.rs follows this block")
        .expect("the recipe's marker in the README");
    let block = &readme[start..];
    let body = block.split_once("```sh\n").unwrap().1;
    body.split_once("```").unwrap().0.to_string()
}

#[tokio::test]
async fn the_role_recipe_works_as_written_on_a_fresh_cluster() {
    let cluster = Cluster::start();
    let host = format!("@127.0.0.1:{}/", cluster.port);
    let script = recipe()
        .replace("@db/", &host)
        .replace("ADMIN-PASSWORD", ADMIN_PASSWORD)
        .replace("DAEMON-PASSWORD", DAEMON_PASSWORD);
    let bin = Path::new(env!("CARGO_BIN_EXE_retentiond"));
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let home = tempfile::tempdir().unwrap();
    let out = bash(
        &script,
        &[
            ("PATH", &path),
            ("HOME", home.path().to_str().unwrap()),
            ("RETENTIOND__LOG__FORMAT", "journal"),
        ],
    );
    assert!(
        out.status.success(),
        "the recipe failed:\n{script}\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    // the daemon, as the login the recipe made, starts and is ready
    let daemon_url = format!(
        "postgres://retentiond:{DAEMON_PASSWORD}@127.0.0.1:{}/guests",
        cluster.port
    );
    let dir = tempfile::tempdir().unwrap();
    let socket_path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut child = Command::new(bin)
        .arg("serve")
        .env_clear()
        .env("PATH", &path)
        .env("RETENTIOND__DATABASE__URL", &daemon_url)
        .env("RETENTIOND__LOG__FORMAT", "journal")
        // as systemd's StateDirectory= gives it: the ledger goes there
        .env("STATE_DIRECTORY", dir.path())
        .env("NOTIFY_SOCKET", &socket_path)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let mut buf = [0u8; 4096];
    let mut ready = false;
    while start.elapsed() < Duration::from_secs(30) && !ready {
        if let Ok(n) = socket.recv(&mut buf) {
            ready = String::from_utf8_lossy(&buf[..n]).contains("READY=1");
        }
    }
    let status = common::terminate(&mut child, Duration::from_secs(5));
    let mut log = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    assert!(ready, "the daemon did not get ready:\n{log}");
    assert_eq!(status.code(), Some(0), "{log}");
    assert!(!log.contains(DAEMON_PASSWORD), "the password stays hidden");
}
