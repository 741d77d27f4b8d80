//! Numbered migrations embedded in the binary, each applied in its own
//! transaction and recorded in `retention.schema_migrations`. A session-level
//! advisory lock serialises concurrent migrators; a database whose schema is
//! newer than this binary is refused and left untouched.

use tokio_postgres::Client;

use crate::error::{Error, Result};

/// One embedded migration.
#[derive(Debug)]
pub struct Migration {
    /// Position in the sequence, starting at 1.
    pub version: i32,
    /// Short name (the file name without number and extension).
    pub name: &'static str,
    /// The SQL, run as one transaction.
    pub sql: &'static str,
}

macro_rules! migration {
    ($version:literal, $name:literal) => {
        Migration {
            version: $version,
            name: $name,
            sql: include_str!(concat!(
                "../../sql/migrations/",
                stringify!($version),
                "_",
                $name,
                ".sql"
            )),
        }
    };
}

/// All migrations, in order. Never edit one that has shipped: add a new one.
pub const MIGRATIONS: &[Migration] = &[
    migration!(1, "guest_schema"),
    migration!(2, "action_protocol"),
    migration!(3, "policies"),
    migration!(4, "classification"),
    migration!(5, "runs"),
    migration!(6, "mail_outbox"),
    migration!(7, "erasure_requests"),
    migration!(8, "rule_functions"),
    migration!(9, "two_access_paths"),
    migration!(10, "erasure_reason_blanked"),
    migration!(11, "roles_and_four_eyes"),
    migration!(12, "protocol_seals"),
];

/// Arbitrary but fixed key of the advisory lock that serialises migrators
/// ("retentiond migrate" in ASCII, truncated to 63 bits).
const MIGRATION_LOCK_KEY: i64 = 0x7265_7465_6e74_696d;

/// The schema version this binary expects.
pub fn latest_version() -> i32 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

/// A stable fingerprint of a migration's text (FNV-1a, 64 bit), stored with
/// it so that an edited, already applied migration is noticed.
pub fn checksum(sql: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in sql.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// A fingerprint of the whole migration set (test templates are keyed by it).
pub fn fingerprint() -> String {
    let all: String = MIGRATIONS.iter().map(|m| checksum(m.sql)).collect();
    checksum(&all)
}

/// What [`run`] did.
#[derive(Debug, PartialEq, Eq)]
pub struct MigrateReport {
    /// Version before.
    pub from: i32,
    /// Version after.
    pub to: i32,
    /// Versions applied now.
    pub applied: Vec<i32>,
}

/// Applies every pending migration. Safe to run twice and from two processes
/// at once.
#[tracing::instrument(skip_all, err)]
pub async fn run(client: &mut Client) -> Result<MigrateReport> {
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK_KEY])
        .await?;
    let result = apply_pending(client).await;
    // Unlock even after a failure; a broken connection releases it anyway.
    let _ = client
        .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK_KEY])
        .await;
    result
}

async fn apply_pending(client: &mut Client) -> Result<MigrateReport> {
    client
        .batch_execute(
            "CREATE SCHEMA IF NOT EXISTS retention;
             CREATE TABLE IF NOT EXISTS retention.schema_migrations (
                 version    integer PRIMARY KEY,
                 name       text NOT NULL,
                 checksum   text NOT NULL,
                 applied_at timestamptz NOT NULL DEFAULT now()
             );",
        )
        .await?;
    let applied = applied_versions(client).await?;
    let from = applied.iter().map(|(v, _)| *v).max().unwrap_or(0);
    check_known(&applied)?;

    let mut report = MigrateReport {
        from,
        to: from,
        applied: Vec::new(),
    };
    for migration in MIGRATIONS.iter().filter(|m| m.version > from) {
        let tx = client.transaction().await?;
        tx.batch_execute(migration.sql).await.map_err(|e| {
            Error::Schema(format!(
                "migration {} ({}) failed, nothing of it was applied: {}",
                migration.version,
                migration.name,
                Error::Db(e)
            ))
        })?;
        tx.execute(
            "INSERT INTO retention.schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
            &[
                &migration.version,
                &migration.name,
                &checksum(migration.sql),
            ],
        )
        .await?;
        tx.commit().await?;
        tracing::info!(
            migration.version = migration.version,
            migration.name = migration.name,
            "migration applied"
        );
        report.applied.push(migration.version);
        report.to = migration.version;
    }
    Ok(report)
}

async fn applied_versions(client: &Client) -> Result<Vec<(i32, String)>> {
    let rows = client
        .query(
            "SELECT version, checksum FROM retention.schema_migrations ORDER BY version",
            &[],
        )
        .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// Refuses a schema that is newer than this binary or whose applied
/// migrations differ from the embedded ones.
fn check_known(applied: &[(i32, String)]) -> Result<()> {
    let latest = latest_version();
    if let Some((newest, _)) = applied.iter().max_by_key(|(v, _)| *v) {
        if *newest > latest {
            return Err(Error::Schema(format!(
                "the database schema is at version {newest}, newer than this retentiond \
                 (which knows versions up to {latest}); install the newer retentiond that \
                 migrated it. The database was not changed."
            )));
        }
    }
    for (version, stored) in applied {
        if let Some(m) = MIGRATIONS.iter().find(|m| m.version == *version) {
            if checksum(m.sql) != *stored {
                return Err(Error::Schema(format!(
                    "migration {version} ({}) was applied from a different text than this \
                     retentiond carries; the database was not changed. Check which retentiond \
                     version migrated it.",
                    m.name
                )));
            }
        }
    }
    Ok(())
}

/// The version recorded in the database (0 when never migrated).
pub async fn current_version(client: &Client) -> Result<i32> {
    let exists: bool = client
        .query_one(
            "SELECT to_regclass('retention.schema_migrations') IS NOT NULL",
            &[],
        )
        .await?
        .get(0);
    if !exists {
        return Ok(0);
    }
    let version: Option<i32> = client
        .query_one("SELECT max(version) FROM retention.schema_migrations", &[])
        .await?
        .get(0);
    Ok(version.unwrap_or(0))
}

/// Fails unless the database is at exactly this binary's schema version.
pub async fn ensure_current(client: &Client) -> Result<()> {
    let version = current_version(client).await?;
    let latest = latest_version();
    match version.cmp(&latest) {
        std::cmp::Ordering::Equal => Ok(()),
        std::cmp::Ordering::Less => Err(Error::Schema(format!(
            "the database schema is at version {version}, this retentiond needs {latest}: \
             run `retentiond migrate` first"
        ))),
        std::cmp::Ordering::Greater => Err(Error::Schema(format!(
            "the database schema is at version {version}, newer than this retentiond \
             (which knows versions up to {latest}): install the newer retentiond"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_numbered_from_one_without_gaps() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version, i as i32 + 1, "migration {}", m.name);
        }
    }

    #[test]
    fn checksum_changes_with_the_text() {
        assert_ne!(checksum("SELECT 1"), checksum("SELECT 2"));
        assert_eq!(checksum("SELECT 1"), checksum("SELECT 1"));
    }
}
