//! What the metrics endpoint reads at a scrape: small tables only (the
//! runs, the pending snapshots, the outbox), never the guests.

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

/// Everything a scrape reads from the database.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// Per branch, its newest run that has ended.
    pub last_runs: Vec<LastRun>,
    /// Per branch, overdue and due soon from its newest pending snapshot.
    pub pending: Vec<(i64, i64, i64)>,
    /// Mails queued, and given up in the last 7 days.
    pub outbox: (i64, i64),
}

/// Reads the snapshot.
pub async fn snapshot(client: &impl GenericClient, now: DateTime<Utc>) -> Result<Snapshot> {
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
    let pending = query!("metrics_pending")
        .all(client, &[])
        .await?
        .iter()
        .map(|r| (r.get("branch_id"), r.get("overdue"), r.get("due_soon")))
        .collect();
    let outbox = super::health::outbox_counts(client, now).await?;
    Ok(Snapshot {
        last_runs,
        pending,
        outbox,
    })
}
