//! What the metrics endpoint reads at a scrape: small tables only (the
//! branches and their settings, the runs, the pending snapshots, the
//! outbox), never the guests.

use chrono::{DateTime, Utc};

use super::{parsed, GenericClient};
use crate::error::Result;
use crate::model::RunStatus;

/// A branch's newest run that has ended.
#[derive(Debug)]
pub struct LastRun {
    /// Branch.
    pub branch_id: i64,
    /// How it ended.
    pub status: RunStatus,
    /// Start.
    pub started_at: DateTime<Utc>,
    /// End.
    pub finished_at: Option<DateTime<Utc>>,
}

/// A branch, and whether its automatic deletion is on.
#[derive(Debug)]
pub struct Branch {
    /// Branch.
    pub branch_id: i64,
    /// Nightly automatic deletion.
    pub auto_delete: bool,
    /// A pause of deleting is in force over it.
    pub paused: bool,
}

/// Everything a scrape reads from the database.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// Every branch.
    pub branches: Vec<Branch>,
    /// Per branch, its newest run that has ended.
    pub last_runs: Vec<LastRun>,
    /// Per branch, the end of its newest completed scheduled night.
    pub last_nights: Vec<(i64, DateTime<Utc>)>,
    /// Per branch, overdue and due soon from its newest pending snapshot.
    pub pending: Vec<(i64, i64, i64)>,
    /// Mails queued, and given up in the last 7 days.
    pub outbox: (i64, i64),
    /// Columns of the guest data nobody decided on.
    pub unclassified_columns: i64,
    /// The newest restore the ledger found.
    pub last_restore: Option<DateTime<Utc>>,
}

/// Reads the snapshot.
pub async fn snapshot(client: &impl GenericClient, now: DateTime<Utc>) -> Result<Snapshot> {
    let branches = query!("metrics_branches")
        .all(client, &[])
        .await?
        .iter()
        .map(|r| Branch {
            branch_id: r.get("branch_id"),
            auto_delete: r.get("auto_delete"),
            paused: r.get("paused"),
        })
        .collect();
    let last_runs = query!("metrics_last_runs")
        .all(client, &[])
        .await?
        .iter()
        .map(|r| {
            Ok(LastRun {
                branch_id: r.get("branch_id"),
                status: parsed(r, "status")?,
                started_at: r.get("started_at"),
                finished_at: r.get("finished_at"),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let last_nights = query!("metrics_last_nights")
        .all(client, &[])
        .await?
        .iter()
        .map(|r| (r.get("branch_id"), r.get("finished_at")))
        .collect();
    let pending = query!("metrics_pending")
        .all(client, &[])
        .await?
        .iter()
        .map(|r| (r.get("branch_id"), r.get("overdue"), r.get("due_soon")))
        .collect();
    let outbox = super::health::outbox_counts(client, now).await?;
    let unclassified_columns = query!("metrics_unclassified_columns")
        .one(client, &[])
        .await?
        .get(0);
    let last_restore = query!("metrics_last_restore")
        .one(client, &[])
        .await?
        .try_get("at")?;
    Ok(Snapshot {
        branches,
        last_runs,
        last_nights,
        pending,
        outbox,
        unclassified_columns,
        last_restore,
    })
}
