//! What `status` reads: the last runs, each branch's state, the outbox and
//! the branch locks held right now.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use super::{parsed, parsed_opt, GenericClient};
use crate::error::Result;
use crate::model::{Action, GuestType, RunKind, RunStatus};

/// A run as `status` lists it.
#[derive(Debug, Serialize)]
pub struct RunLine {
    /// Run id.
    pub id: i64,
    /// Scheduled or manual.
    pub kind: RunKind,
    /// Who started it.
    pub actor: String,
    /// Its branches.
    pub branches: Vec<i64>,
    /// Its status.
    pub status: RunStatus,
    /// Start.
    pub started_at: DateTime<Utc>,
    /// End.
    pub finished_at: Option<DateTime<Utc>>,
    /// Guests anonymized.
    pub anonymized: i64,
    /// Newsletter subscriptions ended.
    pub newsletter_unsubscribed: i64,
    /// Fiscal erasures.
    pub fiscal_data_erased: i64,
    /// Guests still due when it ended.
    pub remaining: i64,
    /// The error that ended it.
    pub error: Option<String>,
}

/// Guests of one action in a run's stored counts, all types.
fn total(counts: &Value, action: Action) -> i64 {
    counts
        .get(action.as_str())
        .and_then(Value::as_object)
        .map(|m| m.values().filter_map(Value::as_i64).sum())
        .unwrap_or(0)
}

/// The newest `limit` runs, newest first.
pub async fn last_runs(client: &impl GenericClient, limit: i64) -> Result<Vec<RunLine>> {
    query!("status_last_runs")
        .all(client, &[&limit])
        .await?
        .iter()
        .map(|r| {
            let counts: Value = r.get("counts");
            Ok(RunLine {
                id: r.get("id"),
                kind: parsed(r, "kind")?,
                actor: r.get("actor"),
                branches: r.get("branches"),
                status: parsed(r, "status")?,
                started_at: r.get("started_at"),
                finished_at: r.get("finished_at"),
                anonymized: total(&counts, Action::GuestAnonymized),
                newsletter_unsubscribed: total(&counts, Action::NewsletterUnsubscribed),
                fiscal_data_erased: total(&counts, Action::FiscalDataErased),
                remaining: r.get("remaining"),
                error: r.get("error"),
            })
        })
        .collect::<Result<Vec<_>>>()
}

/// One branch's state.
#[derive(Debug)]
pub struct BranchState {
    /// Branch.
    pub branch_id: i64,
    /// Automatic deletion on.
    pub auto_delete: bool,
    /// Types without a period in force.
    pub unconfigured: Vec<GuestType>,
    /// Status of its last finished run.
    pub last_run_status: Option<RunStatus>,
    /// Its last finished run was held by the guard.
    pub held: bool,
}

/// Every branch's state.
pub async fn branch_states(client: &impl GenericClient) -> Result<Vec<BranchState>> {
    query!("status_branches")
        .all(client, &[])
        .await?
        .iter()
        .map(|r| {
            Ok(BranchState {
                branch_id: r.get("branch_id"),
                auto_delete: r.get("auto_delete"),
                unconfigured: r
                    .get::<_, Vec<String>>("unconfigured")
                    .into_iter()
                    .map(|value| {
                        value.parse().map_err(|_| crate::error::Error::Corrupt {
                            column: "unconfigured",
                            value,
                        })
                    })
                    .collect::<Result<_>>()?,
                last_run_status: parsed_opt(r, "last_run_status")?,
                held: r.get("held"),
            })
        })
        .collect::<Result<Vec<_>>>()
}

/// Mails queued, and mails given up in the seven days before `now`.
pub async fn outbox_counts(client: &impl GenericClient, now: DateTime<Utc>) -> Result<(i64, i64)> {
    let row = query!("status_outbox").one(client, &[&now]).await?;
    Ok((row.get("queued"), row.get("failed_recently")))
}

/// A branch lock held right now.
#[derive(Debug)]
pub struct LockRow {
    /// Branch.
    pub branch_id: i64,
    /// Server process holding it.
    pub pid: i32,
    /// Its application name.
    pub application_name: Option<String>,
}

/// The branch locks held right now.
pub async fn locks(client: &impl GenericClient) -> Result<Vec<LockRow>> {
    Ok(query!("status_locks")
        .all(client, &[])
        .await?
        .iter()
        .map(|r| LockRow {
            branch_id: r.get("branch_id"),
            pid: r.get("pid"),
            application_name: r.get("application_name"),
        })
        .collect())
}

/// A run marked running although none of its branch locks is held.
#[derive(Debug, Serialize)]
pub struct StaleRun {
    /// Run id.
    pub id: i64,
    /// Its branches.
    pub branches: Vec<i64>,
    /// The night of a scheduled run.
    pub night: Option<chrono::NaiveDate>,
}

/// Runs that died without finishing and are not yet marked.
pub async fn stale_runs(client: &impl GenericClient) -> Result<Vec<StaleRun>> {
    Ok(query!("status_stale_runs")
        .all(client, &[])
        .await?
        .iter()
        .map(|r| StaleRun {
            id: r.get("id"),
            branches: r.get("branches"),
            night: r.get("night"),
        })
        .collect())
}
