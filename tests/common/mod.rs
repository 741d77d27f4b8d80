//! Test support: one fresh database per test, cloned from a migrated
//! template on the server named by RETENTIOND_TEST_DATABASE_URL (started by
//! scripts/test), dropped when the test ends.
#![allow(dead_code)]

use std::process::{Command, Output};
use std::str::FromStr;
use std::sync::atomic::{AtomicU32, Ordering};

use retentiond::db::migrate;
use tokio_postgres::{Client, NoTls};

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// Superuser URL of the test server.
pub fn server_url() -> String {
    std::env::var("RETENTIOND_TEST_DATABASE_URL").expect(
        "RETENTIOND_TEST_DATABASE_URL is not set: run the tests with scripts/test, \
         which starts a private PostgreSQL",
    )
}

/// The URL of another database on the test server.
pub fn url_for(db: &str) -> String {
    let mut config = tokio_postgres::Config::from_str(&server_url()).expect("valid test URL");
    config.dbname(db);
    // tokio_postgres::Config has no URL printer: build a key/value string.
    let host = match &config.get_hosts()[0] {
        tokio_postgres::config::Host::Tcp(h) => h.clone(),
        tokio_postgres::config::Host::Unix(p) => p.display().to_string(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let user = config.get_user().unwrap_or("postgres");
    format!("host={host} port={port} user={user} dbname={db}")
}

pub async fn connect(url: &str) -> Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to the test server: {e}"));
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
}

/// A database of its own for one test.
pub struct TestDb {
    pub name: String,
    pub url: String,
}

impl TestDb {
    /// A fresh, fully migrated database (cloned from a template).
    pub async fn migrated() -> TestDb {
        let template = ensure_template().await;
        Self::create(Some(&template)).await
    }

    /// A fresh, empty database (for migration tests).
    pub async fn empty() -> TestDb {
        Self::create(None).await
    }

    async fn create(template: Option<&str>) -> TestDb {
        let admin = connect(&server_url()).await;
        let name = format!(
            "retentiond_test_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_nanos()
        );
        let sql = match template {
            Some(t) => format!("CREATE DATABASE \"{name}\" TEMPLATE \"{t}\""),
            None => format!("CREATE DATABASE \"{name}\""),
        };
        admin
            .batch_execute(&sql)
            .await
            .expect("create test database");
        TestDb {
            url: url_for(&name),
            name,
        }
    }

    pub async fn client(&self) -> Client {
        connect(&self.url).await
    }

    /// Runs the binary against this database.
    pub fn cli(&self, args: &[&str]) -> Output {
        self.cli_env(args, &[])
    }

    pub fn cli_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        self.command(args, env).output().expect("run retentiond")
    }

    /// The binary with a clean environment pointing at this database;
    /// `env` is applied last. For processes a test starts and stops itself.
    pub fn command(&self, args: &[&str], env: &[(&str, &str)]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_retentiond"));
        cmd.args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("RETENTIOND__DATABASE__URL", &self.url)
            .env("RETENTIOND__LOG__FORMAT", "journal")
            .env("USER", "tester")
            .envs(env.iter().copied())
            .stdin(std::process::Stdio::null());
        cmd
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Drop may run inside a runtime: use a thread with its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let admin = connect(&server_url()).await;
                let _ = admin
                    .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .await;
                // the test's own login roles go with it
                let roles: Vec<String> = admin
                    .query(
                        "SELECT rolname::text FROM pg_roles WHERE rolname LIKE $1 || '\\_%'",
                        &[&name],
                    )
                    .await
                    .map(|rows| rows.iter().map(|r| r.get(0)).collect())
                    .unwrap_or_default();
                for role in roles {
                    let _ = admin
                        .batch_execute(&format!("DROP ROLE IF EXISTS \"{role}\""))
                        .await;
                }
            });
        })
        .join();
    }
}

/// Creates the migrated template once per migration set; concurrent test
/// processes wait on an advisory lock, and a half-built template is never
/// visible under the final name.
async fn ensure_template() -> String {
    let name = format!("retentiond_template_{}", migrate::fingerprint());
    let admin = connect(&server_url()).await;
    admin
        .execute("SELECT pg_advisory_lock(4711)", &[])
        .await
        .unwrap();
    let exists: bool = admin
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)",
            &[&name],
        )
        .await
        .unwrap()
        .get(0);
    if !exists {
        let building = format!("{name}_building");
        admin
            .batch_execute(&format!(
                "DROP DATABASE IF EXISTS \"{building}\" WITH (FORCE)"
            ))
            .await
            .unwrap();
        admin
            .batch_execute(&format!("CREATE DATABASE \"{building}\""))
            .await
            .unwrap();
        {
            let mut client = connect(&url_for(&building)).await;
            migrate::run(&mut client).await.expect("migrate template");
        }
        // the migrating connection must be gone before the rename
        admin
            .batch_execute(&format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{building}';
                 ALTER DATABASE \"{building}\" RENAME TO \"{name}\""
            ))
            .await
            .unwrap();
    }
    admin
        .execute("SELECT pg_advisory_unlock(4711)", &[])
        .await
        .unwrap();
    name
}

/// Sends `signal` (e.g. `-TERM`) to a process.
pub fn signal(child: &std::process::Child, signal: &str) {
    Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .expect("kill");
}

/// Sends SIGTERM and waits for the exit, failing after `within`.
pub fn terminate(
    child: &mut std::process::Child,
    within: std::time::Duration,
) -> std::process::ExitStatus {
    let sent = std::time::Instant::now();
    signal(child, "-TERM");
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(
            sent.elapsed() < within,
            "no exit within {within:?} of SIGTERM"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Asserts a guest's personal data is exactly in its anonymized form (the
/// fixture guest of [`fx::guest`]: zip and city stay).
pub async fn assert_anonymized(c: &Client, guest: i64) {
    let r = c
        .query_one(
            "SELECT first_name, last_name, email, phone, street, birthday::text, notes,
                    zip, city, anonymized_at IS NOT NULL
             FROM guests WHERE id = $1",
            &[&guest],
        )
        .await
        .unwrap();
    for (i, col) in [
        "first_name",
        "email",
        "phone",
        "street",
        "birthday",
        "notes",
    ]
    .iter()
    .enumerate()
    {
        let idx = if i == 0 { 0 } else { i + 1 };
        assert_eq!(
            r.get::<_, Option<String>>(idx),
            None,
            "{col} of guest {guest}"
        );
    }
    assert_eq!(r.get::<_, Option<String>>(1).as_deref(), Some("DSGVO"));
    assert_eq!(
        r.get::<_, Option<String>>(7).as_deref(),
        Some("51147"),
        "zip is kept"
    );
    assert_eq!(
        r.get::<_, Option<String>>(8).as_deref(),
        Some("Köln"),
        "city is kept"
    );
    assert!(r.get::<_, bool>(9), "anonymized_at is set");
}

/// Asserts a fixture guest still has its personal data.
pub async fn assert_untouched(c: &Client, guest: i64) {
    let r = c
        .query_one(
            "SELECT first_name, last_name, email, anonymized_at IS NULL FROM guests WHERE id = $1",
            &[&guest],
        )
        .await
        .unwrap();
    assert_eq!(r.get::<_, Option<String>>(0).as_deref(), Some("Erika"));
    assert_eq!(r.get::<_, Option<String>>(1).as_deref(), Some("Mustermann"));
    assert_eq!(
        r.get::<_, Option<String>>(2).as_deref(),
        Some("erika@example.com")
    );
    assert!(r.get::<_, bool>(3), "guest {guest} was anonymized");
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Whether the tests run as root (CI does; `/proc/self` belongs to the
/// process's effective user).
pub fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// Asserts the exit code and returns stdout.
#[track_caller]
pub fn expect_code(o: &Output, code: i32) -> String {
    assert_eq!(
        o.status.code(),
        Some(code),
        "exit code\nstdout:\n{}\nstderr:\n{}",
        stdout(o),
        stderr(o)
    );
    stdout(o)
}

impl TestDb {
    /// A login role of this test's own (dropped with the database), granted
    /// what retentiond needs by `retentiond grant`; returns its URL.
    pub async fn login(&self, name: &str) -> String {
        let role = format!("{}_{name}", self.name);
        let admin = connect(&server_url()).await;
        admin
            .batch_execute(&format!("CREATE ROLE \"{role}\" LOGIN"))
            .await
            .unwrap();
        let out = self.cli(&["grant", "--role", &role]);
        assert_eq!(out.status.code(), Some(0), "grant: {}", stderr(&out));
        self.url.replace("user=postgres", &format!("user={role}"))
    }

    /// Runs the binary against this database as the login of `url`.
    pub fn cli_as(&self, url: &str, args: &[&str]) -> Output {
        self.cli_env(args, &[("RETENTIOND__DATABASE__URL", url)])
    }

    /// A pool on this database, for calling the library directly.
    pub fn pool(&self) -> retentiond::db::DbPool {
        let settings = retentiond::settings::DatabaseSettings {
            url: self.url.clone(),
            config: tokio_postgres::Config::from_str(&self.url).unwrap(),
            tls: Default::default(),
            password_file: None,
            pool_size: 4,
            connect_timeout: std::time::Duration::from_secs(10),
        };
        retentiond::db::connect_pool(&settings).unwrap()
    }
}

/// Small SQL fixture helpers: each inserts one row and returns its id.
pub mod fx {
    use chrono::{DateTime, Utc};
    use tokio_postgres::Client;

    pub async fn branch(c: &Client, name: &str, parent: Option<i64>) -> i64 {
        c.query_one(
            "INSERT INTO branches (name, parent_id) VALUES ($1, $2) RETURNING id",
            &[&name, &parent],
        )
        .await
        .unwrap()
        .get(0)
    }

    pub async fn guest(c: &Client, branch: i64, created_at: DateTime<Utc>) -> i64 {
        c.query_one(
            "INSERT INTO guests (branch_id, first_name, last_name, email, phone, street, zip, city,
                                 birthday, notes, created_at)
             VALUES ($1, 'Erika', 'Mustermann', 'erika@example.com', '+49 30 1234567',
                     'Heidestraße 17', '51147', 'Köln', '1964-08-12', 'Allergie: Nüsse', $2)
             RETURNING id",
            &[&branch, &created_at],
        )
        .await
        .unwrap()
        .get(0)
    }

    pub async fn set_company(c: &Client, guest: i64, company: &str) {
        c.execute(
            "UPDATE guests SET company = $2, vat_id = 'DE123456789', economic_id = 'DE123456789-00001'
             WHERE id = $1",
            &[&guest, &company],
        )
        .await
        .unwrap();
    }

    pub async fn set_verified(c: &Client, guest: i64) {
        c.execute("UPDATE guests SET verified = true WHERE id = $1", &[&guest])
            .await
            .unwrap();
    }

    pub async fn set_profile_updated(c: &Client, guest: i64, at: DateTime<Utc>) {
        c.execute(
            "UPDATE guests SET profile_updated_at = $2 WHERE id = $1",
            &[&guest, &at],
        )
        .await
        .unwrap();
    }

    pub async fn sale(c: &Client, guest: i64, at: DateTime<Utc>) -> i64 {
        c.query_one(
            "INSERT INTO sales (guest_id, branch_id, sold_at, total_cents)
             SELECT id, branch_id, $2, 4200 FROM guests WHERE id = $1 RETURNING id",
            &[&guest, &at],
        )
        .await
        .unwrap()
        .get(0)
    }

    pub async fn reservation(
        c: &Client,
        guest: i64,
        created_at: DateTime<Utc>,
        reserved_for: DateTime<Utc>,
        cancelled: bool,
    ) -> i64 {
        c.query_one(
            "INSERT INTO reservations (guest_id, branch_id, reserved_for, created_at, party_size, notes, cancelled_at)
             SELECT id, branch_id, $2::timestamptz, $3::timestamptz, 4, 'Fensterplatz',
                    CASE WHEN $4::boolean THEN $3::timestamptz END
             FROM guests WHERE id = $1 RETURNING id",
            &[&guest, &reserved_for, &created_at, &cancelled],
        )
        .await
        .unwrap()
        .get(0)
    }

    pub async fn newsletter(
        c: &Client,
        guest: i64,
        subscribed_at: DateTime<Utc>,
        unsubscribed_at: Option<DateTime<Utc>>,
    ) {
        c.execute(
            "INSERT INTO newsletter_subscriptions (guest_id, email, subscribed_at, unsubscribed_at)
             VALUES ($1, 'erika@example.com', $2, $3)",
            &[&guest, &subscribed_at, &unsubscribed_at],
        )
        .await
        .unwrap();
    }

    pub async fn invoice(c: &Client, guest: i64, issued_at: DateTime<Utc>, paid: bool) -> i64 {
        c.query_one(
            "INSERT INTO invoices (guest_id, number, issued_at, pdf, paid_at)
             VALUES ($1::bigint, 'R-' || $1::bigint || '-' || extract(epoch from $2::timestamptz)::bigint,
                     $2::timestamptz, '\\x25504446'::bytea, CASE WHEN $3::boolean THEN $2::timestamptz END)
             RETURNING id",
            &[&guest, &issued_at, &paid],
        )
        .await
        .unwrap()
        .get(0)
    }

    pub async fn policy(c: &Client, branch: i64, guest_type: &str, period: &str) {
        c.execute(
            "INSERT INTO retention.policies (branch_id, guest_type, period, updated_by)
             VALUES ($1, $2, $3::text::interval, 'fixture')
             ON CONFLICT (branch_id, guest_type) DO UPDATE SET period = excluded.period",
            &[&branch, &guest_type, &period],
        )
        .await
        .unwrap();
    }

    pub async fn branch_settings_auto_delete(c: &Client, branch: i64) {
        c.execute(
            "INSERT INTO retention.branch_settings (branch_id, auto_delete, updated_by)
             VALUES ($1, true, 'fixture')
             ON CONFLICT (branch_id) DO UPDATE SET auto_delete = true",
            &[&branch],
        )
        .await
        .unwrap();
    }

    pub async fn count(c: &Client, sql: &str) -> i64 {
        c.query_one(sql, &[]).await.unwrap().get(0)
    }
}

/// `YYYY-MM-DD` at noon UTC.
pub fn day(s: &str) -> chrono::DateTime<chrono::Utc> {
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .unwrap()
        .and_hms_opt(12, 0, 0)
        .unwrap()
        .and_utc()
}

/// Options of an admin's manual run ("alice") with the batch settings of `s`.
pub fn manual(s: &retentiond::settings::Settings) -> retentiond::retention::run::RunOptions {
    retentiond::retention::run::RunOptions {
        kind: retentiond::model::RunKind::Manual,
        actor: "alice".into(),
        night: None,
        window: None,
        guard: None,
        batch: s.batch.clone(),
        notify: None,
    }
}

/// A real SMTP server on loopback (aiosmtpd, see tests/smtp_sink.py) that
/// stores every message it accepts.
pub struct SmtpSink {
    child: Option<std::process::Child>,
    pub port: u16,
    pub dir: tempfile::TempDir,
    /// Certificate and key (PEM): STARTTLS is required.
    pub tls: Option<(std::path::PathBuf, std::path::PathBuf)>,
}

/// Settings for calling the library on this database: no pause between
/// batches, then the TOML of `extra` (read inside `[batch]` until it opens
/// another section).
pub fn settings(db: &TestDb, extra: &str) -> retentiond::settings::Settings {
    retentiond::settings::Settings::from_toml(&format!(
        "[database]\nurl = {:?}\n[batch]\npause = \"0s\"\n{extra}",
        db.url
    ))
    .unwrap()
}

/// A manual run's preparation over `branches` with the clock at `at`
/// (no waiting for a busy branch).
pub async fn prepare(
    pool: &retentiond::db::DbPool,
    branches: &[i64],
    at: chrono::DateTime<chrono::Utc>,
) -> retentiond::retention::run::Prepared {
    retentiond::retention::run::prepare(
        pool,
        branches,
        at,
        at,
        std::time::Duration::ZERO,
        &tokio_util::sync::CancellationToken::new(),
    )
    .await
    .unwrap()
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl SmtpSink {
    pub fn start() -> SmtpSink {
        let mut sink = SmtpSink::down();
        sink.restart();
        sink
    }

    /// A sink that requires STARTTLS with this certificate and key.
    pub fn start_tls(cert: &std::path::Path, key: &std::path::Path) -> SmtpSink {
        let mut sink = SmtpSink::down();
        sink.tls = Some((cert.to_path_buf(), key.to_path_buf()));
        sink.restart();
        sink
    }

    /// A sink that is not running yet (the server is "down").
    pub fn down() -> SmtpSink {
        SmtpSink {
            child: None,
            port: free_port(),
            dir: tempfile::tempdir().unwrap(),
            tls: None,
        }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Starts (again) on the same port and directory.
    pub fn restart(&mut self) {
        use std::io::BufRead;
        let python = std::env::var("RETENTIOND_TEST_PYTHON").expect(
            "RETENTIOND_TEST_PYTHON is not set: run the tests with scripts/test, which \
             installs aiosmtpd for the SMTP sink",
        );
        let mut child = Command::new(python)
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/smtp_sink.py"))
            .arg(self.port.to_string())
            .arg(self.dir.path())
            .args(self.tls.iter().flat_map(|(c, k)| [c, k]))
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("start the SMTP sink");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "ready", "SMTP sink did not start");
        self.child = Some(child);
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// The messages received so far, oldest first, raw.
    pub fn messages(&self) -> Vec<String> {
        let mut names: Vec<_> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect();
        names.sort();
        names
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.stop();
    }
}
