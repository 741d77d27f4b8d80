//! Executing a prepared run: record it, hold what the guard holds, then work
//! each branch's candidates off in bounded batch transactions (lock,
//! re-check, anonymize, protocol, commit), between batches checking the
//! window and the shutdown token.

use std::time::Instant;

use chrono::{DateTime, Utc};
use serde_json::json;
use tokio_postgres::error::SqlState;

use super::finish::{finish, Stop};
use super::plan::{BranchPlan, Prepared};
use super::sizer::{BatchSizer, Contention};
use super::{Held, RunOptions, RunReport};
use crate::db::protocol::{self, Entry};
use crate::db::{self, GenericClient};
use crate::error::{Error, Result};
use crate::model::{Action, GuestType, RunKind};
use crate::retention::context::Context;

/// What one batch did.
struct BatchResult {
    actions: Vec<(i64, Action, GuestType, i64)>,
    kept: i64,
    skipped: i64,
    /// From taking the row locks to the commit.
    lock_hold: std::time::Duration,
}

/// A run in progress: its options, when it started, what it did so far and
/// how far its batches got (for progress).
pub(super) struct Running<'a> {
    pub(super) opts: &'a RunOptions,
    pub(super) started: Instant,
    pub(super) report: RunReport,
    sizer: BatchSizer,
    done: u64,
    total: u64,
}

impl Running<'_> {
    /// Why the batch loop stops before its next batch, if it does.
    fn stop(&self, cx: &Context) -> Option<Stop> {
        if cx.stop.is_cancelled() {
            Some(Stop::Shutdown)
        } else if self
            .opts
            .time_left
            .is_some_and(|left| self.started.elapsed() >= left)
        {
            Some(Stop::Window)
        } else {
            None
        }
    }
}

impl Prepared {
    /// Records one run over every branch of the plan and works it off (a
    /// manual run). Returns `Ok(None)` for a scheduled run whose night
    /// another run has claimed.
    pub async fn execute(mut self, cx: &Context, opts: &RunOptions) -> Result<Option<RunReport>> {
        let all: Vec<usize> = (0..self.plans.len()).collect();
        // one run over everything asked for: what was busy is its gap
        let skipped = self.locked_elsewhere.clone();
        let result = self.run(cx, &all, skipped, opts).await;
        let released = self.release().await;
        let report = result?;
        released?;
        Ok(report)
    }

    /// One run per branch, one after another, under the locks and on the
    /// candidates listed once for all of them (the nights of a tick); a
    /// branch for which `options_for` has no options is left. Stops starting
    /// runs when shutdown is asked.
    pub async fn execute_each(
        mut self,
        cx: &Context,
        options_for: impl Fn(i64) -> Option<RunOptions>,
    ) -> Vec<(i64, Result<Option<RunReport>>)> {
        let mut results = Vec::new();
        for i in 0..self.plans.len() {
            if cx.stop.is_cancelled() {
                break;
            }
            let branch_id = self.plans[i].branch_id;
            let Some(opts) = options_for(branch_id) else {
                tracing::info!(
                    branch.id = branch_id,
                    "no time left for this branch; it waits for its next run"
                );
                continue;
            };
            let result = self.run(cx, &[i], Vec::new(), &opts).await;
            results.push((branch_id, result));
        }
        if let Err(e) = self.release().await {
            tracing::warn!(error = %e, "cannot remove the candidate lists; the next run replaces them");
        }
        results
    }

    /// Removes the plans of `branches` (their candidates too); their locks
    /// stay until the prepared run is released.
    pub async fn drop_branches(&mut self, branches: &[i64]) -> Result<()> {
        let ids: Vec<i64> = self
            .plans
            .iter()
            .filter(|p| branches.contains(&p.branch_id))
            .map(|p| p.plan_id)
            .collect();
        self.plans.retain(|p| !branches.contains(&p.branch_id));
        db::runs::delete_plans(self.client(), &ids).await
    }

    /// Records a run over the plans at `subset`, works them off and records
    /// the end, all under the branch locks.
    #[tracing::instrument(skip_all, fields(run.kind = %opts.kind))]
    async fn run(
        &mut self,
        cx: &Context,
        subset: &[usize],
        skipped: Vec<i64>,
        opts: &RunOptions,
    ) -> Result<Option<RunReport>> {
        let started_at = cx.now();
        let started = Instant::now();
        let plans: Vec<BranchPlan> = subset.iter().map(|&i| self.plans[i].clone()).collect();
        let branches: Vec<i64> = plans.iter().map(|p| p.branch_id).collect();
        let Some(run_id) = self.create_run(opts, &branches, started_at).await? else {
            return Ok(None);
        };
        let _in_progress = crate::metrics::InProgress::start();
        tracing::info!(
            run.id = run_id,
            kind = opts.kind.as_str(),
            branches = ?branches,
            cutoff = %self.cutoff,
            guests = plans.iter().map(|p| p.guests).sum::<i64>(),
            "run started"
        );
        let mut running = Running {
            opts,
            started,
            report: RunReport::new(run_id, opts.kind, self.cutoff, branches),
            sizer: BatchSizer::new(&opts.batch),
            done: 0,
            total: 0,
        };
        running.report.skipped = skipped;
        let outcome = self.work(cx, &plans, &mut running).await;
        cx.progress.finish();
        running.report.batch_sizes = running.sizer.sizes().clone();
        running.report.duration_ms = started.elapsed().as_millis() as u64;
        finish(self.client.as_mut(), cx, running, plans.len(), outcome).await
    }

    /// Creates the run record and its `run_started` row. For a scheduled run
    /// this claims the night; `None` when another run already has it.
    async fn create_run(
        &mut self,
        opts: &RunOptions,
        branches: &[i64],
        started: DateTime<Utc>,
    ) -> Result<Option<i64>> {
        let night_branch = match (opts.kind, branches) {
            (RunKind::Scheduled, [b]) => Some(*b),
            (RunKind::Scheduled, _) => {
                return Err(Error::Failed(
                    "a scheduled run covers exactly one branch".into(),
                ))
            }
            (RunKind::Manual, _) => None,
        };
        let cutoff = self.cutoff;
        let client = self.client.as_mut().expect("client present");
        let tx = client.transaction().await?;
        let run = db::runs::NewRun {
            kind: opts.kind,
            actor: &opts.actor,
            branches,
            night_branch,
            night: opts.night,
            cutoff,
            started,
        };
        let Some(run_id) = db::runs::create(&tx, &run).await? else {
            return Ok(None);
        };
        protocol::append(
            &tx,
            &Entry {
                branch_id: night_branch,
                run_id: Some(run_id),
                details: json!({
                    "kind": opts.kind.as_str(),
                    "branches": branches,
                    "cutoff": cutoff,
                    "night": opts.night,
                    "batch_size": opts.batch.size,
                    "batch_max_size": opts.batch.max_size,
                    "batch_max_lock_hold_ms": opts.batch.max_lock_hold.as_millis() as u64,
                }),
                ..Entry::new(&opts.actor, Action::RunStarted)
            },
        )
        .await?;
        tx.commit().await?;
        Ok(Some(run_id))
    }

    /// The guard over every branch, then the batches over the branches not
    /// held.
    async fn work(
        &mut self,
        cx: &Context,
        plans: &[BranchPlan],
        running: &mut Running<'_>,
    ) -> Result<Stop> {
        // The guard first, for every branch, so that its verdict does not
        // depend on how far other branches got.
        let mut to_do = Vec::new();
        for plan in plans.iter().cloned() {
            let held = match running.opts.guard {
                Some(guard) => self.guard(&plan, guard, running).await?,
                None => None,
            };
            match held {
                Some(held) => running.report.held.push(held),
                None => to_do.push(plan),
            }
        }

        running.total = to_do.iter().map(|p| p.guests as u64).sum();
        cx.progress.start(running.total);
        let plan_ids: Vec<i64> = to_do.iter().map(|p| p.plan_id).collect();
        self.work_plans(cx, &plan_ids, running).await
    }

    /// The blast-radius guard: holds the branch (a `run_held` row, nothing
    /// changed) when the plan would anonymize more than `guard` of its not
    /// yet anonymized guests.
    async fn guard(
        &self,
        plan: &BranchPlan,
        guard: f64,
        running: &Running<'_>,
    ) -> Result<Option<Held>> {
        let not_anonymized = db::guests::not_anonymized(self.client(), plan.branch_id).await?;
        let candidates = plan.anonymize();
        if not_anonymized == 0 || candidates as f64 <= guard * not_anonymized as f64 {
            return Ok(None);
        }
        let held = Held {
            branch_id: plan.branch_id,
            candidates,
            not_anonymized,
            guard,
        };
        let run_id = running.report.run_id;
        protocol::append(
            self.client(),
            &Entry {
                branch_id: Some(plan.branch_id),
                run_id: Some(run_id),
                details: json!({
                    "candidates": candidates,
                    "not_anonymized": not_anonymized,
                    "guard": guard,
                }),
                ..Entry::new(&running.opts.actor, Action::RunHeld)
            },
        )
        .await?;
        tracing::warn!(
            run.id = run_id,
            branch.id = plan.branch_id,
            candidates,
            not_anonymized,
            guard,
            "guard held the branch: the run would anonymize more than the guard fraction; \
             nothing was changed there"
        );
        Ok(Some(held))
    }

    /// Works the candidate lists off, a batch at a time in guest id order
    /// across all of them (guests numbered close together share pages,
    /// whichever branch they are of), until none is left, the run's time is
    /// up or a stop is asked.
    #[tracing::instrument(skip_all, fields(run.id = running.report.run_id))]
    async fn work_plans(
        &mut self,
        cx: &Context,
        plan_ids: &[i64],
        running: &mut Running<'_>,
    ) -> Result<Stop> {
        if running.total == 0 {
            return Ok(Stop::Done);
        }
        let statements = self.plan_batches(plan_ids, running).await?;
        let mut after: i64 = 0;
        loop {
            let size = i64::from(running.sizer.size());
            if let Some(stop) = running.stop(cx) {
                running.report.remaining +=
                    db::runs::left_after(self.client(), plan_ids, after).await?;
                return Ok(stop);
            }
            let next =
                db::runs::next_batch(self.client(), &statements, plan_ids, after, size).await?;
            let Some((upto, guests)) = next else {
                return Ok(Stop::Done);
            };
            let range = Range {
                plan_ids,
                after,
                upto,
                guests,
            };
            self.run_batch(cx, &range, &statements, running).await?;
            after = upto;
            running.done += guests as u64;
            cx.progress.batch(running.done, running.total);
            if guests < size && running.stop(cx).is_none() {
                // the keyset found fewer than asked: the lists are done
                return Ok(Stop::Done);
            }
            let pause = running.opts.batch.pause;
            if !pause.is_zero() {
                tokio::select! {
                    _ = tokio::time::sleep(pause) => {}
                    _ = cx.stop.cancelled() => {}
                }
            }
        }
    }

    /// Prepares the statements every batch sends, then runs a batch over
    /// no candidates: it locks nothing and has the server plan the batch's
    /// statements (once per session), so that the first batch does not
    /// hold its row locks while they are planned.
    async fn plan_batches(
        &mut self,
        plan_ids: &[i64],
        running: &Running<'_>,
    ) -> Result<db::runs::BatchStatements> {
        let statements = db::runs::BatchStatements::prepare(self.client()).await?;
        let params =
            Range::empty(plan_ids).params(self.cutoff, &running.opts.actor, running.report.run_id);
        db::guests::run_batch(self.client(), &statements, &params).await?;
        Ok(statements)
    }

    /// One batch, counted into the report; a batch that gave up on a lock
    /// or its time leaves its guests for the next run.
    async fn run_batch(
        &mut self,
        cx: &Context,
        range: &Range<'_>,
        statements: &db::runs::BatchStatements,
        running: &mut Running<'_>,
    ) -> Result<()> {
        // a stop cancels a statement that runs on; its batch rolls back
        let token = self.client().cancel_token();
        let run_id = running.report.run_id;
        let batch = self.batch(range, statements, running.opts, run_id);
        let batch_started = Instant::now();
        match db::stoppable(token, &cx.stop, batch).await {
            Ok(result) => {
                let contention = if result.skipped > 0 {
                    Contention::MetLockedRow
                } else {
                    Contention::None
                };
                running.sizer.record(result.lock_hold, contention);
                let report = &mut running.report;
                report.lock_holds.record(result.lock_hold);
                let metrics = crate::metrics::global();
                metrics.batch(batch_started.elapsed(), result.lock_hold);
                for (branch_id, action, guest_type, n) in result.actions {
                    metrics.changed(branch_id, action, n);
                    report.record(branch_id, action, guest_type, n);
                }
                report.kept += result.kept;
                report.remaining += result.skipped;
                Ok(())
            }
            Err(e) if is_timeout(&e) => {
                tracing::warn!(
                    guests = range.guests,
                    error = %e,
                    "batch gave up waiting for a lock or took too long; its guests are left \
                     for the next run"
                );
                running
                    .sizer
                    .record(batch_started.elapsed(), Contention::MetLockedRow);
                running.report.remaining += range.guests;
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// One batch transaction: lock, re-check, anonymize, protocol, commit.
    #[tracing::instrument(skip_all, fields(run.id = run_id, batch.rows = range.guests))]
    async fn batch(
        &mut self,
        range: &Range<'_>,
        statements: &db::runs::BatchStatements,
        opts: &RunOptions,
        run_id: i64,
    ) -> Result<BatchResult> {
        let params = range.params(self.cutoff, &opts.actor, run_id);
        let client = self.client.as_mut().expect("client present");
        let tx = client.transaction().await?;
        let locking = Instant::now();
        // sent together (one round trip): the server sets the timeouts
        // before it starts the batch, which they bound
        let (_, done) = tokio::try_join!(
            db::runs::set_batch_timeouts(
                &tx,
                statements,
                opts.batch.lock_timeout,
                opts.batch.statement_timeout
            ),
            db::guests::run_batch(&tx, statements, &params),
        )?;
        tx.commit().await?;
        Ok(BatchResult {
            kept: done.locked - done.guests,
            skipped: done.listed - done.locked,
            actions: done.actions,
            lock_hold: locking.elapsed(),
        })
    }
}

/// A batch: the candidates of the run's lists with guest ids after `after`
/// up to `upto`.
struct Range<'a> {
    plan_ids: &'a [i64],
    after: i64,
    upto: i64,
    /// How many candidates it holds.
    guests: i64,
}

impl<'a> Range<'a> {
    /// The range of no candidates before the first.
    fn empty(plan_ids: &'a [i64]) -> Self {
        Range {
            plan_ids,
            after: 0,
            upto: 0,
            guests: 0,
        }
    }

    /// The batch function's parameters for this range.
    fn params(
        &self,
        cutoff: DateTime<Utc>,
        actor: &'a str,
        run_id: i64,
    ) -> db::guests::BatchParams<'a> {
        db::guests::BatchParams {
            plan_ids: self.plan_ids,
            after: self.after,
            upto: self.upto,
            cutoff,
            actor,
            run_id,
        }
    }
}

fn is_timeout(e: &Error) -> bool {
    matches!(
        e.sql_state(),
        Some(s) if *s == SqlState::LOCK_NOT_AVAILABLE || *s == SqlState::QUERY_CANCELED
    )
}
