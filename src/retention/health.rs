//! The state of the service at a glance (the query half of `status`): the
//! schema, the last runs, held and failed branches, the outbox, the locks
//! held right now, and what needs attention, as data for the edges to show.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::context::Context;
use super::night;
use crate::db::{self, migrate};
use crate::error::Result;
use crate::model::RunStatus;

pub use crate::db::health::{RunLine, StaleRun};
pub use night::{MissedNight, NextRun};

/// Everything `status` shows.
#[derive(Debug, Serialize)]
pub struct Health {
    /// Schema versions.
    pub schema: SchemaState,
    /// The newest runs.
    pub last_runs: Vec<RunLine>,
    /// The next nightly instant of each branch with automatic deletion on.
    pub next_runs: Vec<NextRun>,
    /// Branches whose last run the guard held.
    pub held_branches: Vec<i64>,
    /// Branches whose last run failed.
    pub failed_last_run: Vec<i64>,
    /// The outbox.
    pub outbox: OutboxState,
    /// Branch locks held right now.
    pub locks: Vec<LockLine>,
    /// Branches with automatic deletion on but types without a period.
    pub auto_delete_unconfigured: Vec<Unconfigured>,
    /// Runs that died without finishing (marked running, no lock held).
    pub stale_runs: Vec<StaleRun>,
    /// Branches whose last run was interrupted (stopped, or died).
    pub interrupted_last_run: Vec<i64>,
    /// Nights whose window ended without a run.
    pub missed_nights: Vec<MissedNight>,
    /// Branches whose time zone PostgreSQL does not know: skipped.
    pub invalid_time_zones: Vec<InvalidZone>,
    /// Legal holds in force whose date has passed.
    pub expired_holds: Vec<super::holds::Expired>,
    /// Pauses of deleting work in force.
    pub pauses: Vec<super::pauses::Pause>,
    /// Columns of the guest data nobody decided on (`table.column`).
    pub unclassified_columns: Vec<String>,
    /// The ledger, as this process can read it.
    pub ledger: LedgerState,
    /// The newest restore the protocol records.
    pub restore: Option<db::ledger::RestoreRow>,
    /// What needs attention.
    #[serde(skip)]
    pub attention: Vec<Attention>,
}

/// Something an operator has to act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attention {
    /// The schema does not match the binary.
    SchemaMismatch {
        /// Version in the database.
        database: i32,
        /// Version this binary needs.
        binary: i32,
    },
    /// The guard held the branch's last run.
    Held(i64),
    /// The branch's last run failed.
    LastRunFailed(i64),
    /// Mails were given up in the last seven days.
    MailsGivenUp(i64),
    /// A run died without finishing (its branches).
    StaleRun(i64, Vec<i64>),
    /// The branch's last run was interrupted: work is left.
    LastRunInterrupted(i64),
    /// A night's window ended without a run.
    MissedNight(i64, chrono::NaiveDate),
    /// The branch's time zone is unknown: the branch is skipped.
    InvalidTimeZone(i64, String),
    /// A legal hold in force is past its date: release or renew it.
    HoldExpired(i64, chrono::NaiveDate),
    /// Deleting is paused (pause id, its branch or every branch, until).
    Paused(i64, Option<i64>, DateTime<Utc>),
    /// Columns of the guest data that anonymization does not know how to treat.
    UnclassifiedColumns(Vec<String>),
    /// The database is behind the ledger, the protocol was rewritten, or
    /// the ledger is broken or another database's (in words).
    Ledger(String),
    /// Guests a restore brought back that are overdue (the next run takes them).
    RestoreOverdue(i64),
    /// The ledger has not recorded a seal of the protocol (its position,
    /// sealed since) for longer than [`LEDGER_LAG`]: the daemon is not
    /// running or cannot write it.
    LedgerLags(i64, DateTime<Utc>),
}

/// How long the protocol's newest seal may wait for the ledger: the daemon
/// records it at every tick.
pub const LEDGER_LAG: chrono::TimeDelta = chrono::TimeDelta::minutes(15);

/// The ledger as `status` sees it.
#[derive(Debug, Default, Serialize)]
pub struct LedgerState {
    /// ledger.path.
    pub path: String,
    /// How the database stands to it, when it could be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub standing: Option<super::ledger::Standing>,
    /// Why it could not be read, or what is wrong.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

/// A branch whose time zone PostgreSQL does not know.
#[derive(Debug, Serialize)]
pub struct InvalidZone {
    /// Branch.
    pub branch_id: i64,
    /// The zone as stored.
    pub time_zone: String,
}

/// Schema versions.
#[derive(Debug, Serialize)]
pub struct SchemaState {
    /// In the database.
    pub database: i32,
    /// What this binary needs.
    pub binary: i32,
    /// Whether they match.
    pub ok: bool,
}

/// The outbox.
#[derive(Debug, Serialize)]
pub struct OutboxState {
    /// Mails waiting.
    pub queued: i64,
    /// Mails given up in the last seven days.
    pub failed_last_7_days: i64,
}

/// A branch lock held right now.
#[derive(Debug, Serialize)]
pub struct LockLine {
    /// Branch.
    pub branch_id: i64,
    /// Server process holding it.
    pub pid: i32,
    /// Its application name.
    pub application_name: Option<String>,
}

/// Types without a period in a branch with automatic deletion on.
#[derive(Debug, Serialize)]
pub struct Unconfigured {
    /// Branch.
    pub branch_id: i64,
    /// The types.
    pub types: Vec<crate::model::GuestType>,
}

/// Reads the state at the context's now. Only the schema is read when it
/// does not match this binary.
pub async fn gather(cx: &Context) -> Result<Health> {
    let client = cx.raw_client().await?;
    let mut health = Health {
        schema: schema_state(&client).await?,
        last_runs: Vec::new(),
        next_runs: Vec::new(),
        held_branches: Vec::new(),
        failed_last_run: Vec::new(),
        outbox: OutboxState {
            queued: 0,
            failed_last_7_days: 0,
        },
        locks: Vec::new(),
        auto_delete_unconfigured: Vec::new(),
        stale_runs: Vec::new(),
        interrupted_last_run: Vec::new(),
        missed_nights: Vec::new(),
        invalid_time_zones: Vec::new(),
        expired_holds: Vec::new(),
        pauses: Vec::new(),
        unclassified_columns: Vec::new(),
        ledger: LedgerState::default(),
        restore: None,
        attention: Vec::new(),
    };
    if !health.schema.ok {
        health.attention.push(Attention::SchemaMismatch {
            database: health.schema.database,
            binary: health.schema.binary,
        });
        return Ok(health);
    }
    health.next_runs = night::next_runs(cx).await?;
    health.missed_nights = night::missed_nights(cx).await?;
    for m in &health.missed_nights {
        health
            .attention
            .push(Attention::MissedNight(m.branch_id, m.night));
    }
    health.last_runs = db::health::last_runs(&client, 10).await?;
    health.expired_holds = super::holds::expired(&client, cx.now()).await?;
    for h in &health.expired_holds {
        health.attention.push(Attention::HoldExpired(h.id, h.until));
    }
    health.unclassified_columns = super::columns::unclassified(&client).await?;
    if !health.unclassified_columns.is_empty() {
        health.attention.push(Attention::UnclassifiedColumns(
            health.unclassified_columns.clone(),
        ));
    }
    health.pauses = super::pauses::in_force(&client, cx.now()).await?;
    for p in &health.pauses {
        health
            .attention
            .push(Attention::Paused(p.id, p.branch_id, p.until));
    }
    branch_states(&client, &mut health).await?;
    health.stale_runs = db::health::stale_runs(&client).await?;
    for r in &health.stale_runs {
        health
            .attention
            .push(Attention::StaleRun(r.id, r.branches.clone()));
    }
    for (branch_id, time_zone) in db::branches::invalid_time_zones(&client).await? {
        health
            .attention
            .push(Attention::InvalidTimeZone(branch_id, time_zone.clone()));
        health.invalid_time_zones.push(InvalidZone {
            branch_id,
            time_zone,
        });
    }
    outbox_and_locks(&client, cx.now(), &mut health).await?;
    ledger_state(cx, &client, &mut health).await?;
    Ok(health)
}

/// The ledger against the database, and what the newest restore brought back.
async fn ledger_state(cx: &Context, client: &db::Object, health: &mut Health) -> Result<()> {
    let path = &cx.settings.ledger.path;
    health.ledger.path = path.display().to_string();
    match super::ledger::State::read(path) {
        Ok(Some(state)) => {
            let mode = super::ledger::sync::Mode::Record;
            let (standing, _) = super::ledger::sync::look(client, &state, mode).await?;
            if let Some(problem) = standing.problem(path) {
                health.attention.push(Attention::Ledger(problem.clone()));
                health.ledger.problem = Some(problem);
            } else if let Some(lag) = ledger_lag(client, &state, path, cx.now()).await? {
                health.attention.push(lag);
            }
            health.ledger.standing = Some(standing);
        }
        Ok(None) => health.ledger.problem = Some("no ledger yet".to_string()),
        Err(e @ crate::error::Error::Tampered(_)) => {
            health.attention.push(Attention::Ledger(e.to_string()));
            health.ledger.problem = Some(e.to_string());
        }
        // not readable by this user: the daemon's own status shows it
        Err(e) => health.ledger.problem = Some(e.to_string()),
    }
    health.restore = db::ledger::latest_restore(client, None).await?;
    if let Some(r) = health
        .restore
        .as_ref()
        .filter(|r| r.overdue_brought_back > 0)
    {
        health
            .attention
            .push(Attention::RestoreOverdue(r.overdue_brought_back));
    }
    Ok(())
}

/// The first seal the ledger has not recorded, when it and the ledger's
/// last recording (its newest seal, or the file itself while it holds
/// none) are older than [`LEDGER_LAG`]: measured from the oldest seal
/// waiting, so that new rows do not hide an old gap.
async fn ledger_lag(
    client: &db::Object,
    state: &super::ledger::State,
    path: &std::path::Path,
    now: DateTime<Utc>,
) -> Result<Option<Attention>> {
    let old = |t: DateTime<Utc>| t < now - LEDGER_LAG;
    let (waiting, recorded_long_ago) = match state.newest() {
        Some(r) => (r.pos + 1, old(r.seen_at)),
        None => {
            let written = std::fs::metadata(path).and_then(|m| m.modified()).ok();
            (1, written.is_some_and(|t| old(DateTime::<Utc>::from(t))))
        }
    };
    let seals = db::ledger::seals_at(client, &[waiting]).await?;
    let Some(seal) = seals.get(&waiting) else {
        return Ok(None);
    };
    // only a seal of the last minutes may still wait for the daemon's tick
    // (one dated ahead, or not readable, proves nothing)
    let fresh = seal.first_at.is_some_and(|t| !old(t) && t <= now);
    let since = seal.first_at.filter(|t| *t <= now).unwrap_or(now);
    Ok((recorded_long_ago && !fresh).then_some(Attention::LedgerLags(waiting, since)))
}

/// The schema version in the database against this binary's, and whether
/// its rules are this binary's.
async fn schema_state(client: &db::Object) -> Result<SchemaState> {
    let database = migrate::current_version(client).await?;
    let binary = migrate::latest_version();
    Ok(SchemaState {
        database,
        binary,
        ok: database == binary && migrate::rules_current(client).await?,
    })
}

/// Held, failed and interrupted last runs, and branches deleting
/// automatically with types that have no period.
async fn branch_states(client: &db::Object, health: &mut Health) -> Result<()> {
    for b in db::health::branch_states(client).await? {
        if b.auto_delete && !b.unconfigured.is_empty() {
            health.auto_delete_unconfigured.push(Unconfigured {
                branch_id: b.branch_id,
                types: b.unconfigured,
            });
        }
        if b.held {
            health.held_branches.push(b.branch_id);
            health.attention.push(Attention::Held(b.branch_id));
        }
        if b.last_run_status == Some(RunStatus::Failed) {
            health.failed_last_run.push(b.branch_id);
            health.attention.push(Attention::LastRunFailed(b.branch_id));
        }
        if b.last_run_status == Some(RunStatus::Interrupted) {
            health.interrupted_last_run.push(b.branch_id);
            health
                .attention
                .push(Attention::LastRunInterrupted(b.branch_id));
        }
    }
    Ok(())
}

/// The outbox's counts and the branch locks held right now.
async fn outbox_and_locks(
    client: &db::Object,
    now: DateTime<Utc>,
    health: &mut Health,
) -> Result<()> {
    let (queued, failed) = db::health::outbox_counts(client, now).await?;
    health.outbox = OutboxState {
        queued,
        failed_last_7_days: failed,
    };
    if failed > 0 {
        health.attention.push(Attention::MailsGivenUp(failed));
    }
    health.locks = db::health::locks(client)
        .await?
        .into_iter()
        .map(|l| LockLine {
            branch_id: l.branch_id,
            pid: l.pid,
            application_name: l.application_name,
        })
        .collect();
    Ok(())
}

/// The few small tables the metrics endpoint shows (last runs, the day's
/// pending snapshot, the outbox), read at the context's now.
pub async fn metrics_snapshot(cx: &Context) -> Result<db::metrics::Snapshot> {
    let client = cx.raw_client().await?;
    db::metrics::snapshot(&client, cx.now()).await
}
