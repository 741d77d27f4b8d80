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

use chrono::{DateTime, NaiveDate, Utc};
use tokio_util::sync::CancellationToken;

use crate::clock::{branch_time_zone, due_instant, latest_due_night, next_instant, Clock};
use crate::db::runs::ScheduledBranch;
use crate::db::{self, DbPool, GenericClient};
use crate::error::Result;
use crate::model::RunKind;
use crate::notify::Notifier;
use crate::retention::health::{MissedNight, NextRun};
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
    let now = clock.now();
    let mut due = Vec::new();
    for b in branches {
        let Some(night) = nights.night_at(&b, now) else {
            continue;
        };
        // a night is run inside its window only: never by day
        if now >= night.ends {
            continue;
        }
        if nights.open(b.branch_id, night.date).await? {
            due.push(night);
        }
    }
    nights.run(&due).await
}

/// A branch's night: its local date, and the window it may run in.
#[derive(Clone, Copy, Debug)]
pub struct NightWindow {
    /// Branch.
    pub branch_id: i64,
    /// The local date of the night.
    pub date: NaiveDate,
    /// `schedule.nightly_at` that night, in the branch's time zone.
    pub starts: DateTime<Utc>,
    /// No batch starts from here on (`schedule.window` after the start).
    pub ends: DateTime<Utc>,
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
    let tz = settings.schedule.time_zone;
    let starts = due_instant(night, settings.schedule.nightly_at, tz);
    let window = NightWindow {
        branch_id,
        date: night,
        starts,
        ends: starts + chrono::Duration::from_std(settings.schedule.window).unwrap_or_default(),
    };
    Ok(nights.run(&[window]).await?.pop())
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
    /// The latest night of a branch whose run instant has come, with its
    /// window; `None` (and an error in the log) when PostgreSQL does not know
    /// the branch's time zone.
    fn night_at(&self, b: &ScheduledBranch, now: DateTime<Utc>) -> Option<NightWindow> {
        if !b.valid {
            tracing::error!(
                branch.id = b.branch_id,
                time_zone = %b.time_zone,
                "the branch's time zone is unknown to PostgreSQL: its nights and summaries are \
                 skipped until branches.time_zone is fixed; other branches go on"
            );
            return None;
        }
        let tz = branch_time_zone(b.branch_id, &b.time_zone, self.settings.schedule.time_zone);
        let (date, starts) = latest_due_night(now, self.settings.schedule.nightly_at, tz);
        let window = chrono::Duration::from_std(self.settings.schedule.window)
            .unwrap_or(chrono::Duration::hours(3));
        Some(NightWindow {
            branch_id: b.branch_id,
            date,
            starts,
            ends: starts + window,
        })
    }

    /// Runs the nights of `due`: locks and lists them once, re-checks each
    /// night under its lock, then one run per branch, each ending its
    /// batches at the end of its own night's window.
    #[tracing::instrument(skip_all, fields(branches = due.len()))]
    async fn run(&self, due: &[NightWindow]) -> Result<Vec<RunReport>> {
        if due.is_empty() || self.cancel.is_cancelled() {
            return Ok(Vec::new());
        }
        let branches: Vec<i64> = due.iter().map(|n| n.branch_id).collect();
        let night_of = |branch: i64| due.iter().find(|n| n.branch_id == branch).copied();
        let cutoff = self.clock.now();
        // a busy branch is not waited for: a later tick of the night retries it
        let mut prepared = prepare(
            self.pool,
            &branches,
            cutoff,
            cutoff,
            std::time::Duration::ZERO,
            self.cancel,
        )
        .await?;
        // Re-check under the branch locks: another daemon may have finished
        // a night between the first check and the lock.
        let mut closed = Vec::new();
        for plan in &prepared.plans {
            if let Some(night) = night_of(plan.branch_id) {
                if !self.open(plan.branch_id, night.date).await? {
                    closed.push(plan.branch_id);
                }
            }
        }
        prepared.drop_branches(&closed).await?;
        // each run may work until its own night's window ends; one whose
        // window is over when its turn comes waits for the next night
        let opts_for = |branch_id: i64| {
            let night = night_of(branch_id)?;
            let left = (night.ends - self.clock.now()).to_std().ok()?;
            Some(RunOptions {
                kind: RunKind::Scheduled,
                actor: DAEMON_ACTOR.to_string(),
                night: Some(night.date),
                window: Some(left),
                guard: Some(self.settings.schedule.guard),
                batch: self.settings.batch.clone(),
                notify: self.notifier.cloned(),
            })
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
                    night = ?night_of(branch_id).map(|n| n.date),
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
        drop(client);
        let max = i64::from(self.settings.schedule.max_attempts);
        if failed >= max && claimed == 0 {
            tracing::debug!(branch.id = branch_id, %night, failed, "night given up after failed attempts");
        }
        Ok(claimed == 0 && failed < max)
    }
}

/// The next nightly instant of every branch with automatic deletion on
/// (branches whose time zone is unknown have none).
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
        .filter(|b| b.valid)
        .map(|b| {
            let tz = branch_time_zone(b.branch_id, &b.time_zone, settings.schedule.time_zone);
            NextRun {
                branch_id: b.branch_id,
                at: next_instant(now, settings.schedule.nightly_at, tz).1,
            }
        })
        .collect())
}

/// The night a branch missed: the latest night whose window has ended
/// without any run, for a branch that had scheduled runs before it (the
/// daemon was down, or the database unreachable the whole window).
pub async fn missed_night(
    client: &impl GenericClient,
    settings: &Settings,
    branch: &ScheduledBranch,
    now: DateTime<Utc>,
) -> Result<Option<NaiveDate>> {
    if !branch.valid {
        return Ok(None);
    }
    let tz = branch_time_zone(
        branch.branch_id,
        &branch.time_zone,
        settings.schedule.time_zone,
    );
    let (tonight, starts) = latest_due_night(now, settings.schedule.nightly_at, tz);
    let window = chrono::Duration::from_std(settings.schedule.window).unwrap_or_default();
    // while tonight's window is open, the night before is the one to ask about
    let date = if now < starts + window {
        tonight.pred_opt().unwrap_or(tonight)
    } else {
        tonight
    };
    Ok(
        match db::runs::last_night(client, branch.branch_id).await? {
            Some(last) if last < date => Some(date),
            _ => None,
        },
    )
}

/// The missed nights of every branch with automatic deletion on.
pub async fn missed_nights(
    pool: &DbPool,
    settings: &Settings,
    clock: &dyn Clock,
) -> Result<Vec<MissedNight>> {
    let client = pool.get().await?;
    let now = clock.now();
    let mut missed = Vec::new();
    for b in db::runs::scheduled_branches(&client).await? {
        if let Some(night) = missed_night(&client, settings, &b, now).await? {
            missed.push(MissedNight {
                branch_id: b.branch_id,
                night,
            });
        }
    }
    Ok(missed)
}
