//! The schema, in two kinds of embedded SQL files, both recorded with a
//! checksum and applied together in one transaction:
//!
//! - numbered migrations (`sql/migrations/N_name.sql`) for tables and data:
//!   applied once, in order, never edited after they shipped
//!   (`retention.schema_migrations`);
//! - the rules (`sql/rules/name.sql`): functions and views, one concern per
//!   file, each written so that it can be applied again (`CREATE OR
//!   REPLACE`). All of them are re-applied, in order, whenever the text of
//!   one differs from what the database recorded or a migration was applied
//!   (`retention.schema_rules`); today's rules are read there, not in the
//!   migrations that first created them.
//!
//! A session-level advisory lock serialises concurrent migrators; a database
//! whose schema is newer than this binary is refused and left untouched.
//!
//! Everything runs with `search_path = pg_catalog, pg_temp`: no name in our
//! SQL resolves to an object a login created in `public`. At the end every
//! object of `retention` and `retention_api` belongs to the owner role
//! (`database.owner_role`), which cannot log in; a superuser's migrate
//! creates it, any other login must be a member of it.

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
    migration!(13, "owner_and_api"),
    migration!(14, "legal_holds"),
    migration!(15, "pauses"),
    migration!(16, "run_sessions"),
    migration!(17, "column_handling"),
    migration!(18, "seal_guard"),
    migration!(19, "run_candidates_by_guest"),
    migration!(20, "periods_cache"),
    migration!(21, "run_candidates_kept_pages"),
];

/// One file of the rules: functions and views that [`run`] re-applies
/// whenever its text changes.
#[derive(Debug)]
pub struct RuleFile {
    /// The file name without extension.
    pub name: &'static str,
    /// The SQL; applying it twice leaves the same objects.
    pub sql: &'static str,
}

macro_rules! rule_file {
    ($name:literal) => {
        RuleFile {
            name: $name,
            sql: include_str!(concat!("../../sql/rules/", $name, ".sql")),
        }
    };
}

/// The version of the rules below. Raise it with every change of a rule
/// file (a unit test checks the pair): a database whose rules a newer
/// version applied is refused, never rolled back to older rules.
pub const RULES_VERSION: i32 = 8;

/// The checksum of the rules at [`RULES_VERSION`].
#[cfg(test)]
const RULES_FINGERPRINT: &str = "979514f41ef20de0";

/// The rules, in the order they are applied: each file may use what the
/// files before it define, and a function or view no file defines any more
/// is dropped by a numbered migration.
pub const RULES: &[RuleFile] = &[
    rule_file!("time_zones"),
    rule_file!("guest_rules"),
    rule_file!("effective_policies"),
    rule_file!("classification"),
    rule_file!("pending"),
    rule_file!("runs"),
    rule_file!("columns"),
    rule_file!("api"),
    rule_file!("ledger"),
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

/// A fingerprint of the migrations and the rules (test templates are keyed
/// by it).
pub fn fingerprint() -> String {
    let all: String = MIGRATIONS
        .iter()
        .map(|m| m.sql)
        .chain(RULES.iter().map(|r| r.sql))
        .map(checksum)
        .collect();
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
    /// Rule files re-applied now (all of them, or none).
    pub rules: Vec<&'static str>,
}

/// Applies every pending migration. Safe to run twice and from two processes
/// at once.
#[tracing::instrument(skip_all, err)]
pub async fn run(client: &mut Client, owner: &str) -> Result<MigrateReport> {
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK_KEY])
        .await?;
    let result = match super::owner_role::owner_role(client, owner).await {
        Ok(()) => apply_pending(client, owner).await,
        Err(e) => Err(e),
    };
    let _ = client.batch_execute("RESET ROLE").await;
    // Unlock even after a failure; a broken connection releases it anyway.
    let _ = client
        .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK_KEY])
        .await;
    result
}

async fn apply_pending(client: &mut Client, owner: &str) -> Result<MigrateReport> {
    client
        .batch_execute("SET search_path = pg_catalog, pg_temp")
        .await?;
    // Once the owner role owns the schema, everything runs as it: nothing
    // the owner role could have planted (a trigger, a replaced function, a
    // view in place of a table) runs with the migrating login's rights.
    let owned: bool = client
        .query_one(
            "SELECT coalesce((SELECT n.nspowner = r.oid
                              FROM pg_catalog.pg_namespace n, pg_catalog.pg_roles r
                              WHERE n.nspname = 'retention' AND r.rolname = $1), false)",
            &[&owner],
        )
        .await?
        .get(0);
    if owned {
        client
            .execute("SELECT pg_catalog.set_config('role', $1, false)", &[&owner])
            .await?;
    }
    if !owned {
        client
            .batch_execute("CREATE SCHEMA IF NOT EXISTS retention")
            .await?;
    }
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS retention.schema_migrations (
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
    let rules = RulesState::read(client).await?;
    rules.check_known()?;
    let create = query!("schema_rules_create");
    client
        .batch_execute(create.sql)
        .await
        .map_err(|e| create.failed(e))?;

    let mut report = MigrateReport {
        from,
        to: from,
        applied: Vec::new(),
        rules: Vec::new(),
    };
    let tx = client.transaction().await?;
    for migration in MIGRATIONS.iter().filter(|m| m.version > from) {
        tx.batch_execute(migration.sql).await.map_err(|e| {
            Error::Schema(format!(
                "migration {} ({}) failed, nothing was applied: {}",
                migration.version,
                migration.name,
                Error::from(e)
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
        report.applied.push(migration.version);
        report.to = migration.version;
    }
    if !rules.current() || !report.applied.is_empty() {
        report.rules = apply_rules(&tx).await?;
    }
    if !owned {
        let hand_over = query!("schema_hand_over");
        tx.execute(hand_over.sql, &[&owner])
            .await
            .map_err(|e| hand_over.failed(e))?;
    }
    if !report.applied.is_empty() || !report.rules.is_empty() {
        super::owner_role::owner_privileges(&tx, owner).await?;
    }
    tx.commit().await?;
    client.batch_execute("RESET search_path").await?;
    for version in &report.applied {
        tracing::info!(migration.version = version, "migration applied");
    }
    if !report.rules.is_empty() {
        tracing::info!(rules = ?report.rules, "rules applied");
    }
    Ok(report)
}

/// Applies every rule file, in order, and records it.
async fn apply_rules(tx: &tokio_postgres::Transaction<'_>) -> Result<Vec<&'static str>> {
    let (clear, record) = (query!("schema_rules_clear"), query!("schema_rules_record"));
    tx.execute(clear.sql, &[])
        .await
        .map_err(|e| clear.failed(e))?;
    let mut applied = Vec::new();
    for rule in RULES {
        tx.batch_execute(rule.sql).await.map_err(|e| {
            Error::Schema(format!(
                "the rules in {}.sql failed, nothing was applied: {}",
                rule.name,
                Error::from(e)
            ))
        })?;
        tx.execute(
            record.sql,
            &[&rule.name, &checksum(rule.sql), &RULES_VERSION],
        )
        .await
        .map_err(|e| record.failed(e))?;
        applied.push(rule.name);
    }
    Ok(applied)
}

/// The rule files a database recorded.
struct RulesState {
    /// (file, checksum, rules version) per file; empty when none are.
    recorded: Vec<(String, String, i32)>,
}

impl RulesState {
    async fn read(client: &Client) -> Result<RulesState> {
        let (exists, recorded) = (
            query!("schema_rules_exists"),
            query!("schema_rules_recorded"),
        );
        let found: bool = client
            .query_one(exists.sql, &[])
            .await
            .map_err(|e| exists.failed(e))?
            .get(0);
        let recorded = if found {
            client
                .query(recorded.sql, &[])
                .await
                .map_err(|e| recorded.failed(e))?
                .iter()
                .map(|r| (r.get("name"), r.get("checksum"), r.get("version")))
                .collect()
        } else {
            Vec::new()
        };
        Ok(RulesState { recorded })
    }

    /// Whether these are exactly this binary's rule files.
    fn current(&self) -> bool {
        self.recorded.len() == RULES.len()
            && RULES.iter().all(|rule| {
                self.recorded
                    .iter()
                    .any(|(name, sum, _)| name == rule.name && *sum == checksum(rule.sql))
            })
    }

    /// Refuses rules that a newer retentiond applied: this binary's older
    /// rules never replace them.
    fn check_known(&self) -> Result<()> {
        match self.recorded.iter().map(|(_, _, v)| *v).max() {
            Some(newer) if newer > RULES_VERSION => Err(Error::Schema(format!(
                "the database's rules are at version {newer}, newer than this retentiond's \
                 ({RULES_VERSION}); install the newer retentiond that migrated it. The \
                 database was not changed."
            ))),
            _ => Ok(()),
        }
    }
}

/// Whether the database holds exactly this binary's rules.
pub async fn rules_current(client: &Client) -> Result<bool> {
    Ok(RulesState::read(client).await?.current())
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
        std::cmp::Ordering::Equal if rules_current(client).await? => Ok(()),
        std::cmp::Ordering::Equal => Err(Error::Schema(
            "the database's rules (functions and views) are not this retentiond's: run \
             `retentiond migrate` first"
                .into(),
        )),
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
    fn every_change_of_the_rules_raises_their_version() {
        let all: String = RULES.iter().map(|r| checksum(r.sql)).collect();
        assert_eq!(
            checksum(&all),
            RULES_FINGERPRINT,
            "the rules changed: raise RULES_VERSION and record the new fingerprint"
        );
    }

    #[test]
    fn rule_files_have_distinct_names() {
        for (i, rule) in RULES.iter().enumerate() {
            assert!(
                RULES[i + 1..].iter().all(|r| r.name != rule.name),
                "{} twice",
                rule.name
            );
        }
    }

    #[test]
    fn checksum_changes_with_the_text() {
        assert_ne!(checksum("SELECT 1"), checksum("SELECT 2"));
        assert_eq!(checksum("SELECT 1"), checksum("SELECT 1"));
    }
}
