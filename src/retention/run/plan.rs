//! Preparing a run: lock the branches nobody else is processing, mark runs
//! that died on them as interrupted, list their candidates once at the
//! cut-off. Nothing is changed until [`Prepared::execute`].

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::db::{self, Object};
use crate::error::Result;
use crate::model::GuestType;
use crate::retention::context::Context;

pub use crate::db::runs::PlanCount as TypeCounts;

/// The candidates of one branch, found once at the run's cut-off.
#[derive(Clone, Debug, Serialize)]
pub struct BranchPlan {
    /// Branch id.
    pub branch_id: i64,
    #[serde(skip)]
    pub(super) plan_id: i64,
    /// Counts per guest type.
    pub by_type: Vec<TypeCounts>,
    /// Guests with something to do.
    pub guests: i64,
}

impl BranchPlan {
    /// Guests whose personal data will be anonymized.
    pub fn anonymize(&self) -> i64 {
        self.by_type.iter().map(|t| t.anonymize).sum()
    }
}

/// A run whose branches are locked and whose candidates are listed.
/// Nothing has changed yet. Dropping it releases the locks.
pub struct Prepared {
    pub(super) client: Option<Object>,
    /// The cut-off, fixed at preparation.
    pub cutoff: DateTime<Utc>,
    /// What will be done, per branch.
    pub plans: Vec<BranchPlan>,
    /// Branches another run or daemon is processing right now (skipped).
    pub locked_elsewhere: Vec<i64>,
    /// Runs found stale (crashed) and marked interrupted.
    pub stale_runs: Vec<i64>,
}

/// Locks the branches that nobody else is processing and lists their
/// candidates at `cutoff`. A branch another run holds is waited for up to
/// `wait`, then skipped. Uses a connection of its own, outside the pool's
/// reuse: the session's advisory locks end with it. The context's stop
/// cancels a long listing.
#[tracing::instrument(skip_all, fields(run.branches = ?branches, run.cutoff = %cutoff))]
pub async fn prepare(
    cx: &Context,
    branches: &[i64],
    cutoff: DateTime<Utc>,
    wait: Duration,
) -> Result<Prepared> {
    let mut prepared = Prepared {
        client: Some(cx.raw_client().await?),
        cutoff,
        plans: Vec::new(),
        locked_elsewhere: Vec::new(),
        stale_runs: Vec::new(),
    };
    // On an error below, dropping `prepared` closes the connection and with
    // it the locks taken so far.
    let locked = prepared.lock_branches(cx, branches, wait).await?;
    if !locked.is_empty() {
        prepared.list_candidates(cx, &locked).await?;
    }
    Ok(prepared)
}

impl Prepared {
    /// Takes the branch locks in ascending order, each waited for up to
    /// what is left of `wait`: two runs over the same branches queue behind
    /// each other instead of holding some each and waiting for the rest.
    /// The locks nobody else holds are taken in one round trip, up to the
    /// first held one, which is waited for alone. Marks the dead runs of the
    /// branches taken as interrupted. Returns the branches taken; the others
    /// are `locked_elsewhere`.
    async fn lock_branches(
        &mut self,
        cx: &Context,
        branches: &[i64],
        wait: Duration,
    ) -> Result<Vec<i64>> {
        let mut left_over = branches.to_vec();
        left_over.sort_unstable();
        left_over.dedup();
        let mut locked = Vec::new();
        let deadline = Instant::now() + wait;
        while !left_over.is_empty() {
            let client = self.client();
            // the first branches of left_over, in its order
            let taken = db::runs::try_lock_in_order(client, &left_over).await?;
            left_over.drain(..taken.len());
            locked.extend(taken);
            if left_over.is_empty() {
                break;
            }
            let busy = left_over.remove(0);
            let left = deadline.saturating_duration_since(Instant::now());
            let taking = db::runs::lock_branch_within(client, busy, left);
            if db::stoppable(client.cancel_token(), &cx.stop, taking).await? {
                locked.push(busy);
            } else {
                tracing::warn!(
                    branch.id = busy,
                    waited_s = wait.as_secs(),
                    "branch is being processed by another run; skipping it"
                );
                self.locked_elsewhere.push(busy);
            }
        }
        if !locked.is_empty() {
            let client = self.client();
            for (id, branch_id) in db::runs::mark_stale(client, &locked, cx.now()).await? {
                tracing::warn!(
                    run.id = id,
                    branch.id = branch_id,
                    "marked a stale run as interrupted"
                );
                if !self.stale_runs.contains(&id) {
                    self.stale_runs.push(id);
                }
            }
        }
        Ok(locked)
    }

    /// Lists the candidates of every locked branch in one pass over the
    /// guests, at the cut-off.
    async fn list_candidates(&mut self, cx: &Context, locked: &[i64]) -> Result<()> {
        let client = self.client();
        let cutoff = self.cutoff;
        let (plan_ids, counts) = db::stoppable(client.cancel_token(), &cx.stop, async {
            let plan_ids = db::runs::list_candidates(client, locked, cutoff).await?;
            let counts = db::runs::plan_counts(client, &plan_ids).await?;
            Ok((plan_ids, counts))
        })
        .await?;
        for (&branch_id, &plan_id) in locked.iter().zip(&plan_ids) {
            let mut by_type: Vec<TypeCounts> = counts
                .iter()
                .filter(|(p, _)| *p == plan_id)
                .map(|(_, c)| c.clone())
                .collect();
            by_type.sort_by_key(|t| GuestType::ALL.iter().position(|g| *g == t.guest_type));
            let guests = by_type.iter().map(|t| t.guests).sum();
            tracing::debug!(branch.id = branch_id, guests, "candidates listed");
            self.plans.push(BranchPlan {
                branch_id,
                plan_id,
                by_type,
                guests,
            });
        }
        Ok(())
    }
}

impl Prepared {
    pub(super) fn client(&self) -> &Object {
        self.client
            .as_ref()
            .expect("client present until the run ends")
    }

    /// Guests with something to do, all branches.
    pub fn total_guests(&self) -> i64 {
        self.plans.iter().map(|p| p.guests).sum()
    }

    /// Removes the candidate lists and releases the locks; nothing changed.
    pub async fn abandon(mut self) -> Result<()> {
        self.release().await
    }

    pub(super) async fn release(&mut self) -> Result<()> {
        if let Some(client) = self.client.take() {
            let ids: Vec<i64> = self.plans.iter().map(|p| p.plan_id).collect();
            let result = match db::runs::delete_plans(&client, &ids).await {
                Ok(()) => db::runs::unlock_branches(&client).await,
                Err(e) => Err(e),
            };
            // The connection is not reused; should the unlock have failed,
            // the locks end with it.
            drop(Object::take(client));
            result?;
        }
        Ok(())
    }
}

impl Drop for Prepared {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            // Never return a connection holding branch locks to the pool.
            drop(Object::take(client));
        }
    }
}
