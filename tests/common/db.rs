//! The test server and a database of its own for each test: cloned from a
//! migrated template, run against by the binary or the library, dropped with
//! its login roles when the test ends.

use std::os::unix::fs::OpenOptionsExt;
use std::process::{Command, Output};
use std::str::FromStr;
use std::sync::atomic::{AtomicU32, Ordering};

use retentiond::db::migrate;
use tokio_postgres::{Client, NoTls};

use super::stderr;

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
    /// The ledger of every process the test starts (ledger.path): one per
    /// database, in a directory of its own.
    pub ledger: std::path::PathBuf,
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
        let ledger_dir = std::env::temp_dir().join(format!("{name}.ledger.d"));
        std::fs::create_dir_all(&ledger_dir).expect("create the ledger's directory");
        // as a daemon's first start leaves it: commands only append to it
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(ledger_dir.join("ledger"))
            .expect("create the ledger");
        TestDb {
            url: url_for(&name),
            ledger: ledger_dir.join("ledger"),
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
            .env("RETENTIOND__LEDGER__PATH", &self.ledger)
            .env("USER", "tester")
            .envs(env.iter().copied())
            .stdin(std::process::Stdio::null());
        cmd
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(dir) = self.ledger.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
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
            migrate::run(&mut client, "retentiond_owner")
                .await
                .expect("migrate template");
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
    pub fn pool(&self) -> retentiond::retention::Pool {
        let settings = retentiond::settings::DatabaseSettings {
            url: self.url.clone(),
            config: tokio_postgres::Config::from_str(&self.url).unwrap(),
            tls: Default::default(),
            password_file: None,
            pool_size: 4,
            connect_timeout: std::time::Duration::from_secs(10),
            owner_role: "retentiond_owner".into(),
        };
        retentiond::db::connect_pool(&settings).unwrap()
    }
}
