//! `retention.runs`, the run's candidate lists and the branch advisory
//! locks: everything a run records about itself.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;

use super::{parsed, GenericClient, PreparedQuery};
use crate::error::Result;
use crate::model::{GuestType, RunKind, RunStatus, DAEMON_ACTOR};

/// Takes the branch's lock for this session if nobody holds it.
pub async fn try_lock_branch(client: &impl GenericClient, branch_id: i64) -> Result<bool> {
    Ok(query!("branch_try_lock")
        .one(client, &[&branch_id])
        .await?
        .get(0))
}

/// Takes the branch's lock for this session, waiting up to `wait` for
/// another run to let go of it; false when it did not within `wait`.
pub async fn lock_branch_within(
    client: &impl GenericClient,
    branch_id: i64,
    wait: std::time::Duration,
) -> Result<bool> {
    if wait.is_zero() {
        return try_lock_branch(client, branch_id).await;
    }
    let bound = format!("{}ms", wait.as_millis().max(1));
    query!("session_lock_timeout")
        .all(client, &[&bound])
        .await?;
    let locked = query!("branch_lock_wait").all(client, &[&branch_id]).await;
    query!("session_lock_timeout").all(client, &[&"0"]).await?;
    match locked {
        Ok(_) => Ok(true),
        Err(e) if e.sql_state() == Some(&tokio_postgres::error::SqlState::LOCK_NOT_AVAILABLE) => {
            Ok(false)
        }
        Err(e) => Err(e),
    }
}

/// Takes the locks of `branches` for this session in ascending order up to
/// the first one another session holds, in one round trip; returns the
/// branches taken.
pub async fn try_lock_in_order(client: &impl GenericClient, branches: &[i64]) -> Result<Vec<i64>> {
    Ok(query!("branch_try_lock_in_order")
        .one(client, &[&branches])
        .await?
        .get(0))
}

/// Marks the runs of `branches` still `running` as interrupted (the caller
/// holds the branches' locks, so they are dead); returns their ids, each
/// with the branch it was found by.
pub async fn mark_stale(
    client: &impl GenericClient,
    branches: &[i64],
    now: DateTime<Utc>,
) -> Result<Vec<(i64, i64)>> {
    Ok(query!("run_mark_stale")
        .all(client, &[&branches, &now, &DAEMON_ACTOR])
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect())
}

/// Lists the candidates of `branches` at `cutoff` in one pass, each branch
/// under a new plan id, replacing what dead runs left; returns the plan ids
/// in the order of `branches`.
pub async fn list_candidates(
    client: &impl GenericClient,
    branches: &[i64],
    cutoff: DateTime<Utc>,
) -> Result<Vec<i64>> {
    query!("run_candidates_clear_branch")
        .exec(client, &[&branches])
        .await?;
    let count = i32::try_from(branches.len()).unwrap_or(i32::MAX);
    let plan_ids: Vec<i64> = query!("run_plan_next_id")
        .all(client, &[&count])
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    query!("run_candidates_insert")
        .exec(client, &[&branches, &plan_ids, &cutoff])
        .await?;
    Ok(plan_ids)
}

/// What a plan will do for one guest type.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct PlanCount {
    /// Guest type.
    pub guest_type: GuestType,
    /// Guests whose personal data will be anonymized.
    pub anonymize: i64,
    /// Of those, active newsletter subscriptions that end.
    pub unsubscribe: i64,
    /// Company guests whose fiscal data will be erased.
    pub erase_fiscal: i64,
    /// Guests with anything to do (each once).
    #[serde(skip)]
    pub guests: i64,
}

/// The plans' counts per guest type: (plan id, counts).
pub async fn plan_counts(
    client: &impl GenericClient,
    plan_ids: &[i64],
) -> Result<Vec<(i64, PlanCount)>> {
    query!("run_plan_counts")
        .all(client, &[&plan_ids])
        .await?
        .iter()
        .map(|r| {
            let counts = PlanCount {
                guest_type: parsed(r, "guest_type")?,
                anonymize: r.get("anonymize"),
                unsubscribe: r.get("unsubscribe"),
                erase_fiscal: r.get("erase_fiscal"),
                guests: r.get("guests"),
            };
            Ok((r.get("plan_id"), counts))
        })
        .collect()
}

/// Releases the branch locks this session holds, at once rather than when
/// the server notices the connection is gone.
pub async fn unlock_branches(client: &impl GenericClient) -> Result<()> {
    query!("branch_unlock_all").exec(client, &[]).await?;
    Ok(())
}

/// Removes candidate lists.
pub async fn delete_plans(client: &impl GenericClient, plan_ids: &[i64]) -> Result<()> {
    query!("run_candidates_delete")
        .exec(client, &[&plan_ids])
        .await?;
    Ok(())
}

/// The statements a run's batch loop sends for every batch, prepared once
/// per run on the run's connection.
pub struct BatchStatements {
    next: PreparedQuery,
    timeouts: PreparedQuery,
    pub(crate) batch: PreparedQuery,
}

impl BatchStatements {
    /// Prepares them on `client`'s connection.
    pub async fn prepare(client: &impl GenericClient) -> Result<Self> {
        Ok(BatchStatements {
            next: query!("run_next_batch").prepare(client).await?,
            timeouts: query!("batch_set_timeouts").prepare(client).await?,
            batch: query!("run_batch").prepare(client).await?,
        })
    }
}

/// The next batch of the lists `plan_ids` after guest id `after`, in
/// guest id order across them: its last guest id and how many candidates
/// it takes (at most `size`); `None` when all are done.
pub async fn next_batch(
    client: &impl GenericClient,
    statements: &BatchStatements,
    plan_ids: &[i64],
    after: i64,
    size: i64,
) -> Result<Option<(i64, i64)>> {
    Ok(statements
        .next
        .opt(client, &[&plan_ids, &after, &size])
        .await?
        .map(|r| (r.get("upto"), r.get("guests"))))
}

/// Candidates of the lists `plan_ids` after guest id `after`.
pub async fn left_after(client: &impl GenericClient, plan_ids: &[i64], after: i64) -> Result<i64> {
    Ok(query!("run_candidates_left")
        .one(client, &[&plan_ids, &after])
        .await?
        .get(0))
}

/// Sets the batch transaction's `lock_timeout` and `statement_timeout`.
pub async fn set_batch_timeouts(
    tx: &impl GenericClient,
    statements: &BatchStatements,
    lock_timeout: std::time::Duration,
    statement_timeout: std::time::Duration,
) -> Result<()> {
    statements
        .timeouts
        .all(
            tx,
            &[
                &format!("{}ms", lock_timeout.as_millis()),
                &format!("{}ms", statement_timeout.as_millis()),
            ],
        )
        .await?;
    Ok(())
}

/// A new run record.
#[derive(Debug)]
pub struct NewRun<'a> {
    /// Scheduled or manual.
    pub kind: RunKind,
    /// Who started it.
    pub actor: &'a str,
    /// Its branches.
    pub branches: &'a [i64],
    /// The branch whose night a scheduled run claims.
    pub night_branch: Option<i64>,
    /// That night.
    pub night: Option<NaiveDate>,
    /// The cut-off.
    pub cutoff: DateTime<Utc>,
    /// The start.
    pub started: DateTime<Utc>,
}

/// Records a run; for a scheduled run this claims its night and returns
/// `None` when another run holds it.
pub async fn create(client: &impl GenericClient, run: &NewRun<'_>) -> Result<Option<i64>> {
    Ok(query!("run_create")
        .opt(
            client,
            &[
                &run.kind.as_str(),
                &run.actor,
                &run.branches,
                &run.night_branch,
                &run.night,
                &run.cutoff,
                &run.started,
            ],
        )
        .await?
        .map(|r| r.get(0)))
}

/// How a run ended, as recorded.
#[derive(Debug)]
pub struct RunEnd<'a> {
    /// Its status.
    pub status: RunStatus,
    /// Counts by action and type.
    pub counts: &'a Value,
    /// The same per branch.
    pub branch_counts: &'a Value,
    /// Guests still due.
    pub remaining: i64,
    /// Branches the guard held.
    pub held: &'a Value,
    /// The error that ended it.
    pub error: Option<&'a str>,
    /// When.
    pub at: DateTime<Utc>,
}

/// Records a run's end; false when the run was no longer `running`.
pub async fn finish(client: &impl GenericClient, run_id: i64, end: &RunEnd<'_>) -> Result<bool> {
    Ok(query!("run_finish")
        .exec(
            client,
            &[
                &run_id,
                &end.status.as_str(),
                end.counts,
                &end.remaining,
                end.held,
                &end.error,
                &end.at,
                end.branch_counts,
            ],
        )
        .await?
        == 1)
}

/// The runs of one branch's night.
#[derive(Clone, Copy, Debug)]
pub struct NightState {
    /// Runs that hold it (a running one only while it is alive).
    pub claimed: i64,
    /// Attempts that failed or were interrupted.
    pub failed: i64,
}

/// A branch's night: runs that hold it and attempts that ended without
/// finishing.
pub async fn night_state(
    client: &impl GenericClient,
    branch_id: i64,
    night: NaiveDate,
) -> Result<NightState> {
    let row = query!("run_night_state")
        .one(client, &[&branch_id, &night])
        .await?;
    Ok(NightState {
        claimed: row.get("claimed"),
        failed: row.get("failed"),
    })
}

/// Branches with a period in force (`branch` alone, or all).
pub async fn configured_branches(
    client: &impl GenericClient,
    branch: Option<i64>,
) -> Result<Vec<i64>> {
    Ok(query!("run_configured_branches")
        .all(client, &[&branch])
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect())
}

/// A branch with automatic deletion on.
#[derive(Debug, Clone)]
pub struct ScheduledBranch {
    /// Branch.
    pub branch_id: i64,
    /// Its time zone name.
    pub time_zone: String,
    /// Whether PostgreSQL knows that zone (`retention.valid_time_zone`).
    pub valid: bool,
}

/// Branches with automatic deletion on.
pub async fn scheduled_branches(client: &impl GenericClient) -> Result<Vec<ScheduledBranch>> {
    Ok(query!("run_scheduled_branches")
        .all(client, &[])
        .await?
        .iter()
        .map(|r| ScheduledBranch {
            branch_id: r.get("branch_id"),
            time_zone: r.get("time_zone"),
            valid: r.get("valid"),
        })
        .collect())
}

/// The latest night a branch has a scheduled run for.
pub async fn last_night(client: &impl GenericClient, branch_id: i64) -> Result<Option<NaiveDate>> {
    Ok(query!("run_last_night")
        .one(client, &[&branch_id])
        .await?
        .get(0))
}

/// Guests anonymized per second of run time over the newest completed runs
/// (`None` before the first).
pub async fn throughput(client: &impl GenericClient) -> Result<Option<f64>> {
    Ok(query!("whatif_throughput")
        .one(client, &[])
        .await?
        .get::<_, Option<f64>>(0))
}
