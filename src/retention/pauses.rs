//! A pause of all deleting work, for one branch or every branch, while an
//! incident is investigated: kept in the database (every daemon and manual
//! run respects it across restarts and upgrades), at most 30 days ahead,
//! ending by itself at its time with a `pause_ended` row. The database
//! refuses runs, batches and approvals while one is in force.

use chrono::{DateTime, Utc};

use super::ensure_branch_exists;
use crate::db::{self, pauses, GenericClient};
use crate::error::{Error, Result};
use crate::model::DAEMON_ACTOR;

pub use pauses::Pause;

/// The longest pause: a lever that cannot be forgotten for months.
pub const LONGEST: chrono::Duration = chrono::Duration::days(30);

/// Pauses deleting work until `until`; returns the pause's id.
#[tracing::instrument(skip_all)]
pub async fn pause(
    client: &mut db::Object,
    branch_id: Option<i64>,
    reason: &str,
    until: DateTime<Utc>,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<i64> {
    if reason.trim().is_empty() {
        return Err(Error::Invalid(
            "--reason is empty: say why deleting stops (e.g. \"incident 2026-12-02\")".into(),
        ));
    }
    if until <= now || until > now + LONGEST {
        return Err(Error::Invalid(format!(
            "--until {} is not within the next 30 days: a pause ends by itself at most 30 days \
             ahead (pause again to extend it)",
            until.format("%Y-%m-%d %H:%M UTC")
        )));
    }
    if let Some(b) = branch_id {
        ensure_branch_exists(&*client, b).await?;
    }
    let tx = client.transaction().await?;
    let id = pauses::place(&tx, branch_id, reason, until, actor).await?;
    tx.commit().await?;
    Ok(id)
}

/// Ends the pauses of `branch_id` (or the global ones) now; how many.
#[tracing::instrument(skip_all)]
pub async fn resume(client: &mut db::Object, branch_id: Option<i64>, actor: &str) -> Result<i64> {
    let tx = client.transaction().await?;
    let n = pauses::resume(&tx, branch_id, actor).await?;
    if n == 0 {
        return Err(Error::Invalid(match branch_id {
            Some(b) => format!(
                "no pause of branch {b} is in force (a pause of every branch ends with \
                 `retentiond resume` without --branch)"
            ),
            None => "no pause of every branch is in force (a branch's own pause ends with \
                     `retentiond resume --branch ID`)"
                .into(),
        }));
    }
    tx.commit().await?;
    Ok(n)
}

/// The pauses in force at `now`.
pub async fn in_force(client: &impl GenericClient, now: DateTime<Utc>) -> Result<Vec<Pause>> {
    pauses::in_force(client, now).await
}

/// Ends the pauses whose time has come (the daemon at every tick).
pub async fn end_expired(client: &impl GenericClient) -> Result<i64> {
    let n = pauses::end_expired(client, DAEMON_ACTOR).await?;
    if n > 0 {
        tracing::info!(pauses = n, "pause ended by itself: deleting goes on");
    }
    Ok(n)
}

/// The refusal of deleting work over `branches` while a pause covers one
/// of them, naming it.
pub fn refusal(pauses: &[Pause], branches: &[i64]) -> Option<Error> {
    let p = pauses
        .iter()
        .find(|p| branches.iter().any(|&b| p.covers(b)))?;
    let (scope, flag) = match p.branch_id {
        Some(b) => (format!("branch {b}"), format!(" --branch {b}")),
        None => ("every branch".to_string(), String::new()),
    };
    Some(Error::Failed(format!(
        "deleting is paused (pause {}, {scope}) until {}: nothing was changed; \
         `retentiond resume{flag}` ends the pause earlier",
        p.id,
        p.until.format("%Y-%m-%d %H:%M UTC")
    )))
}
