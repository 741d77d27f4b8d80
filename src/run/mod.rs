//! The anonymization run: one cut-off for the whole run, per-branch advisory
//! locks, candidates found once per branch, then bounded transactional
//! batches that re-check the rules under the row lock, anonymize and write
//! their protocol rows in the same transaction.
//!
//! A run is prepared first ([`prepare`]: locks and candidates, nothing
//! changed) and then executed ([`Prepared::execute`]) or abandoned, so that a
//! manual run can show what it will do and ask before it does it.

pub mod schedule;

use std::sync::Mutex;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};
use deadpool_postgres::{GenericClient, Object};
use serde::Serialize;
use serde_json::{json, Value};
use tokio_postgres::error::SqlState;
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::db::DbPool;
use crate::error::{Error, Result};
use crate::retention::protocol;
use crate::settings::BatchSettings;

/// High 32 bits of the advisory lock key of a branch (`RETE`); the low 32
/// bits are the branch id. `pg_locks` shows them as classid and objid.
pub const BRANCH_LOCK_CLASS: i64 = 0x5245_5445;

/// The advisory lock key of a branch.
pub fn branch_lock_key(branch_id: i64) -> i64 {
    (BRANCH_LOCK_CLASS << 32) | (branch_id & 0xFFFF_FFFF)
}

/// Who started a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunKind {
    /// The daemon's nightly run.
    Scheduled,
    /// An admin's catch-up run (`retentiond run`).
    Manual,
}

impl RunKind {
    /// Name in the runs table and the protocol.
    pub fn as_str(self) -> &'static str {
        match self {
            RunKind::Scheduled => "scheduled",
            RunKind::Manual => "manual",
        }
    }
}

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Everything due was done.
    Completed,
    /// The window ended or rows were locked: the rest waits for the next run.
    Partial,
    /// The guard held every branch of the run; nothing was changed.
    Held,
    /// Shutdown was asked: the current batch committed, no new one started.
    Interrupted,
    /// An error ended the run.
    Failed,
}

impl RunStatus {
    /// Name in the runs table.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Completed => "completed",
            RunStatus::Partial => "partial",
            RunStatus::Held => "held",
            RunStatus::Interrupted => "interrupted",
            RunStatus::Failed => "failed",
        }
    }
}

/// What a prepared run will do in one branch and guest type.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct TypeCounts {
    /// Guest type.
    pub guest_type: String,
    /// Guests whose personal data will be anonymized.
    pub anonymize: i64,
    /// Of those, active newsletter subscriptions that end.
    pub unsubscribe: i64,
    /// Company guests whose fiscal data will be erased.
    pub erase_fiscal: i64,
}

/// The candidates of one branch, found once at the run's cut-off.
#[derive(Clone, Debug, Serialize)]
pub struct BranchPlan {
    /// Branch id.
    pub branch_id: i64,
    #[serde(skip)]
    plan_id: i64,
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

/// A branch the guard held.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Held {
    /// Branch id.
    pub branch_id: i64,
    /// Guests the run would have anonymized.
    pub candidates: i64,
    /// Guests of the branch not yet anonymized.
    pub not_anonymized: i64,
    /// The guard fraction in force.
    pub guard: f64,
    /// How to release the branch.
    pub confirm: String,
}

/// Progress callbacks, for a progress bar or log lines.
pub trait Progress: Send + Sync {
    /// The run starts work on `total` guests.
    fn start(&self, _total: u64) {}
    /// A batch committed; `done` guests of `total` are through.
    fn batch(&self, _done: u64, _total: u64) {}
    /// The run ended.
    fn finish(&self) {}
}

/// Without a terminal: a log line per group of batches (at most every 5 s).
pub struct LogLines {
    started: Instant,
    last: Mutex<Option<Instant>>,
}

impl LogLines {
    /// Starts the clock for rates.
    pub fn new() -> Self {
        LogLines {
            started: Instant::now(),
            last: Mutex::new(None),
        }
    }
}

impl Default for LogLines {
    fn default() -> Self {
        Self::new()
    }
}

impl Progress for LogLines {
    fn batch(&self, done: u64, total: u64) {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        let due = last.is_none_or(|t| t.elapsed() >= Duration::from_secs(5)) || done >= total;
        if due {
            *last = Some(Instant::now());
            let secs = self.started.elapsed().as_secs_f64().max(0.001);
            tracing::info!(
                done,
                total,
                rate = format!("{:.0}/s", done as f64 / secs),
                "run progress"
            );
        }
    }
}

/// No progress output.
pub struct Silent;
impl Progress for Silent {}

/// How a run is to be executed.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Scheduled or manual.
    pub kind: RunKind,
    /// Actor for the protocol (a login, or `retentiond` for the daemon).
    pub actor: String,
    /// The local night a scheduled run belongs to.
    pub night: Option<NaiveDate>,
    /// No new batch starts after this much time.
    pub window: Option<Duration>,
    /// Blast-radius guard (scheduled runs): hold a branch above this fraction.
    pub guard: Option<f64>,
    /// Batch size, pause and timeouts.
    pub batch: BatchSettings,
    /// Queues the completed summaries with the run's end (none: no mails).
    pub notify: Option<std::sync::Arc<crate::notify::Notifier>>,
}

/// Guests per action and guest type.
pub type Counts = BTreeMap<String, BTreeMap<String, i64>>;

/// The result of a run.
#[derive(Clone, Debug, Serialize)]
pub struct RunReport {
    /// Run id in `retention.runs`.
    pub run_id: i64,
    /// Scheduled or manual.
    pub kind: RunKind,
    /// How it ended.
    pub status: RunStatus,
    /// The cut-off.
    pub cutoff: DateTime<Utc>,
    /// Branches worked on (or held).
    pub branches: Vec<i64>,
    /// Actions done: action → guest type → guests.
    pub counts: Counts,
    /// The same per branch.
    pub branch_counts: BTreeMap<i64, Counts>,
    /// Guests still due when the run ended.
    pub remaining: i64,
    /// Guests no longer due when their batch re-checked them (new activity).
    pub kept: i64,
    /// Branches the guard held.
    pub held: Vec<Held>,
    /// Wall time.
    pub duration_ms: u64,
    /// The error that ended the run, if any.
    pub error: Option<String>,
    /// Outbox ids of the completed summaries queued with the run's end.
    pub mails: Vec<i64>,
}

impl RunReport {
    /// Counts `n` guests of `action` and type in `branch_id`.
    fn record(&mut self, branch_id: i64, action: String, guest_type: String, n: i64) {
        for counts in [
            &mut self.counts,
            self.branch_counts.entry(branch_id).or_default(),
        ] {
            *counts
                .entry(action.clone())
                .or_default()
                .entry(guest_type.clone())
                .or_default() += n;
        }
    }

    /// Guests of one action, all types.
    pub fn total(&self, action: &str) -> i64 {
        self.counts
            .get(action)
            .map(|m| m.values().sum())
            .unwrap_or(0)
    }
}

/// A run whose branches are locked and whose candidates are listed.
/// Nothing has changed yet. Dropping it releases the locks.
pub struct Prepared {
    client: Option<Object>,
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
/// candidates at `cutoff`. Uses a connection of its own, outside the pool's
/// reuse: the session's advisory locks end with it.
pub async fn prepare(
    pool: &DbPool,
    branches: &[i64],
    cutoff: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Prepared> {
    let client = pool.get().await?;
    let mut prepared = Prepared {
        client: Some(client),
        cutoff,
        plans: Vec::new(),
        locked_elsewhere: Vec::new(),
        stale_runs: Vec::new(),
    };
    // On an error below, dropping `prepared` closes the connection and with
    // it the locks taken so far.
    for &branch_id in branches {
        let client = prepared.client.as_ref().expect("client present");
        let locked: bool = client
            .query_one(
                "SELECT pg_try_advisory_lock($1)",
                &[&branch_lock_key(branch_id)],
            )
            .await?
            .get(0);
        if !locked {
            tracing::warn!(
                branch_id,
                "branch is being processed by another run; skipping it"
            );
            prepared.locked_elsewhere.push(branch_id);
            continue;
        }
        for row in client
            .query(
                include_str!("../../sql/queries/run_mark_stale.sql"),
                &[&branch_id, &now],
            )
            .await?
        {
            let id: i64 = row.get(0);
            tracing::warn!(run_id = id, branch_id, "marked a stale run as interrupted");
            if !prepared.stale_runs.contains(&id) {
                prepared.stale_runs.push(id);
            }
        }
        client
            .execute(
                "DELETE FROM retention.run_candidates WHERE branch_id = $1",
                &[&branch_id],
            )
            .await?;
        let plan_id: i64 = client
            .query_one("SELECT nextval('retention.run_plan_ids')", &[])
            .await?
            .get(0);
        let guests = client
            .execute(
                concat!(
                    include_str!("../../sql/queries/run_candidates_insert.sql"),
                    include_str!("../../sql/queries/run_candidates_select.sql"),
                    ") AS x"
                ),
                &[&branch_id, &cutoff, &plan_id],
            )
            .await? as i64;
        let mut by_type: Vec<TypeCounts> = client
            .query(
                include_str!("../../sql/queries/run_plan_counts.sql"),
                &[&plan_id],
            )
            .await?
            .iter()
            .map(|r| TypeCounts {
                guest_type: r.get("guest_type"),
                anonymize: r.get("anonymize"),
                unsubscribe: r.get("unsubscribe"),
                erase_fiscal: r.get("erase_fiscal"),
            })
            .collect();
        by_type.sort_by_key(|t| type_order(&t.guest_type));
        tracing::debug!(branch_id, guests, "candidates listed");
        prepared.plans.push(BranchPlan {
            branch_id,
            plan_id,
            by_type,
            guests,
        });
    }
    Ok(prepared)
}

fn type_order(t: &str) -> usize {
    crate::retention::GuestType::ALL
        .iter()
        .position(|g| g.as_str() == t)
        .unwrap_or(usize::MAX)
}

/// Creates the run record and its `run_started` row. For a scheduled run
/// this claims the night; `None` when another run already has it.
async fn create_run(
    client: &mut Object,
    opts: &RunOptions,
    branches: &[i64],
    cutoff: DateTime<Utc>,
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
    let tx = client.transaction().await?;
    let row = tx
        .query_opt(
            include_str!("../../sql/queries/run_create.sql"),
            &[
                &opts.kind.as_str(),
                &opts.actor,
                &branches,
                &night_branch,
                &opts.night,
                &cutoff,
                &started,
            ],
        )
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let run_id: i64 = row.get(0);
    protocol::append(
        &tx,
        &protocol::Entry {
            actor: &opts.actor,
            action: "run_started",
            branch_id: night_branch,
            run_id: Some(run_id),
            details: json!({
                "kind": opts.kind.as_str(),
                "branches": branches,
                "cutoff": cutoff,
                "night": opts.night,
                "batch_size": opts.batch.size,
            }),
            ..Default::default()
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Some(run_id))
}

enum Stop {
    Done,
    Window,
    Shutdown,
}

impl Prepared {
    fn client(&self) -> &Object {
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

    async fn release(&mut self) -> Result<()> {
        if let Some(client) = self.client.take() {
            let ids: Vec<i64> = self.plans.iter().map(|p| p.plan_id).collect();
            let result = client
                .execute(
                    "DELETE FROM retention.run_candidates WHERE plan_id = ANY ($1)",
                    &[&ids],
                )
                .await;
            // The session's advisory locks end with the connection.
            drop(Object::take(client));
            result?;
        }
        Ok(())
    }

    /// Records the run and works off its candidates in batches. Returns
    /// `Ok(None)` for a scheduled run whose night another run has claimed.
    pub async fn execute(
        mut self,
        pool: &DbPool,
        opts: &RunOptions,
        clock: &dyn Clock,
        progress: &dyn Progress,
        cancel: &CancellationToken,
    ) -> Result<Option<RunReport>> {
        let started_at = clock.now();
        let started = Instant::now();
        let branches: Vec<i64> = self.plans.iter().map(|p| p.branch_id).collect();
        let mut client = self.client.take().expect("client present");
        let created = create_run(&mut client, opts, &branches, self.cutoff, started_at).await;
        self.client = Some(client);
        let run_id = match created {
            Ok(Some(id)) => id,
            Ok(None) => {
                self.release().await?;
                return Ok(None);
            }
            Err(e) => {
                let _ = self.release().await;
                return Err(e);
            }
        };
        tracing::info!(
            run_id,
            kind = opts.kind.as_str(),
            branches = ?branches,
            cutoff = %self.cutoff,
            guests = self.total_guests(),
            "run started"
        );

        let mut report = RunReport {
            run_id,
            kind: opts.kind,
            status: RunStatus::Completed,
            cutoff: self.cutoff,
            branches,
            counts: BTreeMap::new(),
            branch_counts: BTreeMap::new(),
            remaining: 0,
            kept: 0,
            held: Vec::new(),
            duration_ms: 0,
            error: None,
            mails: Vec::new(),
        };
        let outcome = self
            .work(opts, clock, progress, cancel, started, &mut report)
            .await;
        progress.finish();
        report.duration_ms = started.elapsed().as_millis() as u64;
        report.status = match &outcome {
            Err(e) => {
                report.error = Some(e.to_string());
                RunStatus::Failed
            }
            Ok(Stop::Shutdown) => RunStatus::Interrupted,
            Ok(Stop::Window) => RunStatus::Partial,
            Ok(Stop::Done) if !report.held.is_empty() && report.held.len() == self.plans.len() => {
                RunStatus::Held
            }
            Ok(Stop::Done) if report.remaining > 0 => RunStatus::Partial,
            Ok(Stop::Done) => RunStatus::Completed,
        };
        // The session may be gone (database outage): record the end on a
        // fresh connection, and let the run be marked stale later if even
        // that fails.
        let _ = self.release().await;
        match finish_run(pool, opts, &report, clock.now()).await {
            Ok(mails) => report.mails = mails,
            Err(e) if outcome.is_err() => {
                tracing::warn!(run_id, error = %e, "cannot record the failed run's end; the next run marks it interrupted");
            }
            Err(e) => return Err(e),
        }
        tracing::info!(
            run_id,
            status = report.status.as_str(),
            anonymized = report.total("guest_anonymized"),
            unsubscribed = report.total("newsletter_unsubscribed"),
            fiscal_erased = report.total("fiscal_data_erased"),
            remaining = report.remaining,
            held = report.held.len(),
            duration_ms = report.duration_ms,
            "run finished"
        );
        match outcome {
            Err(e) => Err(e),
            Ok(_) => Ok(Some(report)),
        }
    }

    async fn work(
        &mut self,
        opts: &RunOptions,
        clock: &dyn Clock,
        progress: &dyn Progress,
        cancel: &CancellationToken,
        started: Instant,
        report: &mut RunReport,
    ) -> Result<Stop> {
        // The guard first, for every branch, so that its verdict does not
        // depend on how far other branches got.
        let mut to_do = Vec::new();
        for plan in self.plans.clone() {
            match opts.guard {
                Some(guard) => match self.guard(&plan, guard, opts, report.run_id).await? {
                    Some(held) => report.held.push(held),
                    None => to_do.push(plan),
                },
                None => to_do.push(plan),
            }
        }

        let total: u64 = to_do.iter().map(|p| p.guests as u64).sum();
        progress.start(total);
        let mut done = 0;
        for (i, plan) in to_do.iter().enumerate() {
            let stop = self
                .work_branch(
                    plan,
                    opts,
                    clock,
                    progress,
                    cancel,
                    started,
                    (&mut done, total),
                    report,
                )
                .await?;
            if !matches!(stop, Stop::Done) {
                // branches not reached wait for the next run as well
                report.remaining += to_do[i + 1..].iter().map(|p| p.guests).sum::<i64>();
                return Ok(stop);
            }
        }
        Ok(Stop::Done)
    }

    /// The blast-radius guard: holds the branch (a `run_held` row, nothing
    /// changed) when the plan would anonymize more than `guard` of its not
    /// yet anonymized guests.
    async fn guard(
        &self,
        plan: &BranchPlan,
        guard: f64,
        opts: &RunOptions,
        run_id: i64,
    ) -> Result<Option<Held>> {
        let not_anonymized: i64 = self
            .client()
            .query_one(
                include_str!("../../sql/queries/run_not_anonymized.sql"),
                &[&plan.branch_id],
            )
            .await?
            .get(0);
        let candidates = plan.anonymize();
        if not_anonymized == 0 || candidates as f64 <= guard * not_anonymized as f64 {
            return Ok(None);
        }
        let held = Held {
            branch_id: plan.branch_id,
            candidates,
            not_anonymized,
            guard,
            confirm: format!("retentiond run --branch {}", plan.branch_id),
        };
        protocol::append(
            self.client(),
            &protocol::Entry {
                actor: &opts.actor,
                action: "run_held",
                branch_id: Some(plan.branch_id),
                run_id: Some(run_id),
                details: json!({
                    "candidates": candidates,
                    "not_anonymized": not_anonymized,
                    "guard": guard,
                    "confirm": held.confirm,
                }),
                ..Default::default()
            },
        )
        .await?;
        tracing::warn!(
            branch_id = plan.branch_id,
            candidates,
            not_anonymized,
            guard,
            "guard held the branch: the run would anonymize more than the guard fraction; \
             nothing was changed there. Check the periods, then confirm with `{}`",
            held.confirm
        );
        Ok(Some(held))
    }

    #[allow(clippy::too_many_arguments)]
    async fn work_branch(
        &mut self,
        plan: &BranchPlan,
        opts: &RunOptions,
        clock: &dyn Clock,
        progress: &dyn Progress,
        cancel: &CancellationToken,
        started: Instant,
        (done, total): (&mut u64, u64),
        report: &mut RunReport,
    ) -> Result<Stop> {
        let size = i64::from(opts.batch.size);
        let mut last: i64 = 0;
        loop {
            if cancel.is_cancelled() {
                report.remaining += self.left_after(plan.plan_id, last).await?;
                return Ok(Stop::Shutdown);
            }
            if opts.window.is_some_and(|w| started.elapsed() >= w) {
                report.remaining += self.left_after(plan.plan_id, last).await?;
                return Ok(Stop::Window);
            }
            let ids: Vec<i64> = self
                .client()
                .query(
                    include_str!("../../sql/queries/run_next_batch.sql"),
                    &[&plan.plan_id, &last, &size],
                )
                .await?
                .iter()
                .map(|r| r.get(0))
                .collect();
            let Some(&batch_last) = ids.last() else {
                return Ok(Stop::Done);
            };
            last = batch_last;
            match self.batch(&ids, opts, clock, report.run_id).await {
                Ok(result) => {
                    for (action, guest_type, n) in result.actions {
                        report.record(plan.branch_id, action, guest_type, n);
                    }
                    report.kept += result.kept;
                    report.remaining += result.skipped;
                }
                Err(e) if is_timeout(&e) => {
                    tracing::warn!(
                        branch_id = plan.branch_id,
                        guests = ids.len(),
                        error = %e,
                        "batch gave up waiting for a lock or took too long; its guests are left \
                         for the next run"
                    );
                    report.remaining += ids.len() as i64;
                }
                Err(e) => return Err(e),
            }
            *done += ids.len() as u64;
            progress.batch(*done, total);
            if !opts.batch.pause.is_zero() {
                tokio::select! {
                    _ = tokio::time::sleep(opts.batch.pause) => {}
                    _ = cancel.cancelled() => {}
                }
            }
        }
    }

    async fn left_after(&self, plan_id: i64, last: i64) -> Result<i64> {
        Ok(self
            .client()
            .query_one(
                "SELECT count(*) FROM retention.run_candidates WHERE plan_id = $1 AND guest_id > $2",
                &[&plan_id, &last],
            )
            .await?
            .get(0))
    }

    /// One batch transaction: lock, re-check, anonymize, protocol, commit.
    async fn batch(
        &mut self,
        ids: &[i64],
        opts: &RunOptions,
        clock: &dyn Clock,
        run_id: i64,
    ) -> Result<BatchResult> {
        let client = self.client.as_mut().expect("client present");
        let tx = client.transaction().await?;
        tx.query(
            "SELECT set_config('lock_timeout', $1, true), set_config('statement_timeout', $2, true)",
            &[
                &format!("{}ms", opts.batch.lock_timeout.as_millis()),
                &format!("{}ms", opts.batch.statement_timeout.as_millis()),
            ],
        )
        .await?;
        let locked: Vec<i64> = tx
            .query(
                include_str!("../../sql/queries/run_lock_guests.sql"),
                &[&ids],
            )
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let skipped = (ids.len() - locked.len()) as i64;
        let mut result = BatchResult {
            actions: Vec::new(),
            kept: 0,
            skipped,
        };
        if locked.is_empty() {
            tx.commit().await?;
            return Ok(result);
        }
        let applied = apply_locked(
            &tx,
            &locked,
            &Apply {
                cutoff: self.cutoff,
                now: clock.now(),
                actor: &opts.actor,
                run_id: Some(run_id),
                forced: &[],
                details: json!({}),
            },
        )
        .await?;
        result.actions = applied.actions;
        let updated = applied.guests;
        result.kept = locked.len() as i64 - updated;
        tx.commit().await?;
        Ok(result)
    }
}

/// How [`apply_locked`] anonymizes.
pub struct Apply<'a> {
    /// Deadlines up to this instant are due.
    pub cutoff: DateTime<Utc>,
    /// `anonymized_at`, `fiscal_erased_at` and the protocol rows' time.
    pub now: DateTime<Utc>,
    /// Actor of the protocol rows.
    pub actor: &'a str,
    /// The run, if any.
    pub run_id: Option<i64>,
    /// Guests whose personal data goes now, whatever their deadline (an
    /// approved erasure request); blockers are the caller's to check.
    pub forced: &'a [i64],
    /// More protocol details (ids only).
    pub details: Value,
}

/// What [`apply_locked`] did.
pub struct Applied {
    /// (action, guest type, guests) of the protocol rows written.
    pub actions: Vec<(String, String, i64)>,
    /// Guests changed.
    pub guests: i64,
}

/// The one anonymization statement, for guests the caller has locked in
/// its transaction: re-checks the rules, anonymizes, erases fiscal data
/// that is due, writes the protocol rows. Used by the run's batches and by
/// approved erasure requests.
pub async fn apply_locked(
    tx: &impl GenericClient,
    locked: &[i64],
    apply: &Apply<'_>,
) -> Result<Applied> {
    let rows = tx
        .query(
            include_str!("../../sql/queries/run_apply_batch.sql"),
            &[
                &locked,
                &apply.cutoff,
                &apply.now,
                &apply.actor,
                &apply.run_id,
                &apply.forced,
                &apply.details,
            ],
        )
        .await?;
    let mut applied = Applied {
        actions: Vec::new(),
        guests: 0,
    };
    for row in rows {
        let action: String = row.get(0);
        let n: i64 = row.get(2);
        match action.as_str() {
            "guests_updated" => applied.guests = n,
            "side_tables" => {}
            _ => applied.actions.push((action, row.get(1), n)),
        }
    }
    Ok(applied)
}

struct BatchResult {
    actions: Vec<(String, String, i64)>,
    kept: i64,
    skipped: i64,
}

impl Drop for Prepared {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            // Never return a connection holding branch locks to the pool.
            drop(Object::take(client));
        }
    }
}

fn is_timeout(e: &Error) -> bool {
    matches!(
        e.sql_state(),
        Some(s) if *s == SqlState::LOCK_NOT_AVAILABLE || *s == SqlState::QUERY_CANCELED
    )
}

/// Records the run's end, its `run_finished` row and its completed
/// summaries in one transaction; returns the queued outbox ids.
async fn finish_run(
    pool: &DbPool,
    opts: &RunOptions,
    report: &RunReport,
    at: DateTime<Utc>,
) -> Result<Vec<i64>> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let counts = serde_json::to_value(&report.counts).unwrap_or(Value::Null);
    let held = serde_json::to_value(&report.held).unwrap_or(Value::Null);
    let branch_counts = serde_json::to_value(&report.branch_counts).unwrap_or(Value::Null);
    tx.execute(
        include_str!("../../sql/queries/run_finish.sql"),
        &[
            &report.run_id,
            &report.status.as_str(),
            &counts,
            &report.remaining,
            &held,
            &report.error,
            &at,
            &branch_counts,
        ],
    )
    .await?;
    protocol::append(
        &tx,
        &protocol::Entry {
            actor: &opts.actor,
            action: "run_finished",
            branch_id: match report.branches.as_slice() {
                [b] => Some(*b),
                _ => None,
            },
            run_id: Some(report.run_id),
            details: json!({
                "status": report.status.as_str(),
                "counts": counts,
                "branch_counts": branch_counts,
                "remaining": report.remaining,
                "kept": report.kept,
                "held": held,
                "duration_ms": report.duration_ms,
                "error": report.error,
            }),
            ..Default::default()
        },
    )
    .await?;
    // A mail that cannot be queued must not cost the run its record.
    let mut mails = Vec::new();
    if let Some(notifier) = &opts.notify {
        let mut tx = tx;
        let savepoint = tx.transaction().await?;
        match notifier.queue_completed(&savepoint, report, at).await {
            Ok(ids) => {
                savepoint.commit().await?;
                mails = ids;
            }
            Err(e) => {
                drop(savepoint);
                tracing::error!(run_id = report.run_id, error = %e, "cannot queue the completed summaries");
            }
        }
        tx.commit().await?;
    } else {
        tx.commit().await?;
    }
    Ok(mails)
}

/// The branches a manual run covers: the one asked for, or every branch
/// with at least one period in force.
pub async fn configured_branches(
    client: &impl GenericClient,
    branch: Option<i64>,
) -> Result<Vec<i64>> {
    if let Some(b) = branch {
        crate::retention::ensure_branch_exists(client, b).await?;
    }
    let branches: Vec<i64> = client
        .query(
            include_str!("../../sql/queries/run_configured_branches.sql"),
            &[&branch],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    if let (Some(b), true) = (branch, branches.is_empty()) {
        return Err(Error::Invalid(format!(
            "branch {b} has no retention period configured, so nothing would ever be \
             anonymized there: set one with `retentiond policy set --branch {b} --type TYPE \
             --period '3 years'`"
        )));
    }
    Ok(branches)
}
