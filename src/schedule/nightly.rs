//! When a branch's nightly run is due, decided here with chrono-tz and a
//! claimed slot in `retention.runs`, never by a local-time cron job: the
//! scheduler only drives a frequent UTC tick (see DESIGN, "Known pitfalls").
//!
//! Each branch's night is its own: the nightly time is local to the branch's
//! `time_zone` (see [`crate::clock`] for gaps and ambiguities). A night is
//! due from its instant on and stays due until a run claims it, so a night
//! missed while the daemon was down is caught up at the next start or tick,
//! and a second tick on the same night finds the night claimed and does
//! nothing.

use std::sync::Arc;

use chrono::NaiveDate;
use tokio_util::sync::CancellationToken;

use crate::clock::{branch_time_zone, latest_due_night, next_instant, Clock};
use crate::db::{self, DbPool};
use crate::error::Result;
use crate::model::RunKind;
use crate::notify::Notifier;
use crate::retention::health::NextRun;
use crate::retention::run::{prepare, Progress, RunOptions, RunReport};
use crate::settings::Settings;

/// The actor of scheduled runs in the protocol.
pub const DAEMON_ACTOR: &str = "retentiond";

/// One tick of the daemon: runs every branch whose night is due and not yet
/// claimed. The candidates of all of them are listed in one pass; then each
/// branch's night is a run of its own, one after another. Errors of one
/// branch are logged and do not stop the others; a night that did not run is
/// retried at a later tick.
#[tracing::instrument(skip_all)]
pub async fn tick(
    pool: &DbPool,
    settings: &Settings,
    notifier: Option<&Arc<Notifier>>,
    clock: &dyn Clock,
    progress: &dyn Progress,
    cancel: &CancellationToken,
) -> Result<Vec<RunReport>> {
    let branches = db::runs::scheduled_branches(&pool.get().await?).await?;
    let nights = Night {
        pool,
        settings,
        notifier,
        clock,
        progress,
        cancel,
    };
    let mut due = Vec::new();
    for (branch_id, tz_name) in branches {
        let tz = branch_time_zone(branch_id, &tz_name, settings.schedule.time_zone);
        let (night, _) = latest_due_night(clock.now(), settings.schedule.nightly_at, tz);
        if nights.open(branch_id, night).await? {
            due.push((branch_id, night));
        }
    }
    nights.run(&due).await
}

/// Runs one branch's night unless it is claimed, locked elsewhere, or has
/// failed `schedule.max_attempts` times.
#[allow(clippy::too_many_arguments)]
pub async fn run_night(
    pool: &DbPool,
    settings: &Settings,
    notifier: Option<&Arc<Notifier>>,
    clock: &dyn Clock,
    progress: &dyn Progress,
    cancel: &CancellationToken,
    branch_id: i64,
    night: NaiveDate,
) -> Result<Option<RunReport>> {
    let nights = Night {
        pool,
        settings,
        notifier,
        clock,
        progress,
        cancel,
    };
    if !nights.open(branch_id, night).await? {
        return Ok(None);
    }
    Ok(nights.run(&[(branch_id, night)]).await?.pop())
}

/// What a tick's nightly runs work with.
struct Night<'a> {
    pool: &'a DbPool,
    settings: &'a Settings,
    notifier: Option<&'a Arc<Notifier>>,
    clock: &'a dyn Clock,
    progress: &'a dyn Progress,
    cancel: &'a CancellationToken,
}

impl Night<'_> {
    /// Runs the nights of `due` (branch, night): locks and lists them once,
    /// re-checks each night under its lock, then one run per branch.
    #[tracing::instrument(skip_all, fields(branches = due.len()))]
    async fn run(&self, due: &[(i64, NaiveDate)]) -> Result<Vec<RunReport>> {
        if due.is_empty() || self.cancel.is_cancelled() {
            return Ok(Vec::new());
        }
        let branches: Vec<i64> = due.iter().map(|(b, _)| *b).collect();
        let night_of = |branch: i64| due.iter().find(|(b, _)| *b == branch).map(|(_, n)| *n);
        let cutoff = self.clock.now();
        let mut prepared = prepare(self.pool, &branches, cutoff, cutoff).await?;
        // Re-check under the branch locks: another daemon may have finished
        // a night between the first check and the lock.
        let mut closed = Vec::new();
        for plan in &prepared.plans {
            if let Some(night) = night_of(plan.branch_id) {
                if !self.open(plan.branch_id, night).await? {
                    closed.push(plan.branch_id);
                }
            }
        }
        prepared.drop_branches(&closed).await?;
        let opts_for = |branch_id: i64| RunOptions {
            kind: RunKind::Scheduled,
            actor: DAEMON_ACTOR.to_string(),
            night: night_of(branch_id),
            window: Some(self.settings.schedule.window),
            guard: Some(self.settings.schedule.guard),
            batch: self.settings.batch.clone(),
            notify: self.notifier.cloned(),
        };
        let mut reports = Vec::new();
        let results = prepared
            .execute_each(self.pool, opts_for, self.clock, self.progress, self.cancel)
            .await;
        for (branch_id, result) in results {
            match result {
                Ok(Some(report)) => {
                    for held in &report.held {
                        tracing::warn!(
                            branch.id = held.branch_id,
                            "the guard held the branch; check its periods, then confirm with \
                             `retentiond run --branch {}`",
                            held.branch_id
                        );
                    }
                    reports.push(report)
                }
                Ok(None) => {}
                Err(e) => tracing::error!(
                    branch.id = branch_id,
                    night = ?night_of(branch_id),
                    error = %e,
                    "nightly run failed; it is retried at the next tick"
                ),
            }
        }
        Ok(reports)
    }

    async fn open(&self, branch_id: i64, night: NaiveDate) -> Result<bool> {
        let client = self.pool.get().await?;
        let (claimed, failed) = db::runs::night_state(&client, branch_id, night).await?;
        let max = i64::from(self.settings.schedule.max_attempts);
        if failed >= max && claimed == 0 {
            tracing::debug!(branch.id = branch_id, %night, failed, "night given up after failed attempts");
        }
        Ok(claimed == 0 && failed < max)
    }
}

/// The next nightly instant of every branch with automatic deletion on.
pub async fn next_runs(
    pool: &DbPool,
    settings: &Settings,
    clock: &dyn Clock,
) -> Result<Vec<NextRun>> {
    let client = pool.get().await?;
    let now = clock.now();
    Ok(db::runs::scheduled_branches(&client)
        .await?
        .into_iter()
        .map(|(branch_id, tz_name)| {
            let tz = branch_time_zone(branch_id, &tz_name, settings.schedule.time_zone);
            NextRun {
                branch_id,
                at: next_instant(now, settings.schedule.nightly_at, tz).1,
            }
        })
        .collect())
}
