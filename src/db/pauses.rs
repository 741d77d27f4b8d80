//! `retention.pauses`: all deleting work stopped, for a branch or every
//! branch, until a time.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::GenericClient;
use crate::error::Result;

/// A pause in force.
#[derive(Clone, Debug, Serialize)]
pub struct Pause {
    /// Its id.
    pub id: i64,
    /// The branch it stops (`None`: every branch).
    pub branch_id: Option<i64>,
    /// Why (for the operators; never mailed).
    pub reason: String,
    /// When it ends by itself.
    pub until: DateTime<Utc>,
    /// Who paused (the label given).
    pub paused_by: String,
    /// The database login that paused.
    pub paused_login: String,
    /// When.
    pub paused_at: DateTime<Utc>,
}

impl Pause {
    /// Whether it stops `branch_id`.
    pub fn covers(&self, branch_id: i64) -> bool {
        self.branch_id.is_none_or(|b| b == branch_id)
    }
}

/// Pauses deleting work (`retention_api.pause`, which writes `paused`).
pub async fn place(
    client: &impl GenericClient,
    branch_id: Option<i64>,
    reason: &str,
    until: DateTime<Utc>,
    actor: &str,
) -> Result<i64> {
    Ok(query!("pause_place")
        .one(client, &[&branch_id, &reason, &until, &actor])
        .await?
        .get(0))
}

/// Ends the pauses of `branch_id` (or the global ones) now; how many.
pub async fn resume(
    client: &impl GenericClient,
    branch_id: Option<i64>,
    actor: &str,
) -> Result<i64> {
    Ok(query!("pause_resume")
        .one(client, &[&branch_id, &actor])
        .await?
        .get(0))
}

/// Ends the pauses whose time has come, with a protocol row each; how many.
pub async fn end_expired(client: &impl GenericClient, actor: &str) -> Result<i64> {
    Ok(query!("pause_end_expired")
        .one(client, &[&actor])
        .await?
        .get(0))
}

/// The pauses in force at `now`.
pub async fn in_force(client: &impl GenericClient, now: DateTime<Utc>) -> Result<Vec<Pause>> {
    Ok(query!("pause_in_force")
        .all(client, &[&now])
        .await?
        .iter()
        .map(|r| Pause {
            id: r.get("id"),
            branch_id: r.get("branch_id"),
            reason: r.get("reason"),
            until: r.get("until"),
            paused_by: r.get("paused_by"),
            paused_login: r.get("paused_login"),
            paused_at: r.get("paused_at"),
        })
        .collect())
}
