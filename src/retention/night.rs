//! The nightly rules: which night of a branch is due, whether it is still
//! open, which night was missed and when the next one comes, and running
//! the nights that are due. Decided with chrono-tz and a claimed slot in
//! `retention.runs` (sql/rules/runs.sql), never by a local-time cron job:
//! the scheduler only drives a frequent UTC tick.
//!
//! Each branch's night is its own: the nightly time is local to the branch's
//! `time_zone` (see [`crate::clock`] for gaps and ambiguities). Deletion
//! happens only inside a night's window (`schedule.nightly_at` for
//! `schedule.window`): a night missed while the daemon was down is not
//! caught up by day but waits for the next night, and is reported as
//! missed. A second tick in the same window finds the night claimed and
//! does nothing.

use chrono::{DateTime, NaiveDate, Utc};

use super::context::Context;
use super::run::{prepare, RunOptions, RunReport};
use crate::clock::{branch_time_zone, latest_due_night, next_instant};
use crate::db::{self, GenericClient};
use crate::error::Result;
use crate::model::{RunKind, DAEMON_ACTOR};
use crate::notify::Notifier;
use crate::settings::Settings;

pub use crate::db::runs::ScheduledBranch;

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

/// A branch with automatic deletion on and the next instant its night
/// starts.
#[derive(Clone, Debug, serde::Serialize)]
pub struct NextRun {
    /// Branch.
    pub branch_id: i64,
    /// The next nightly instant.
    pub at: DateTime<Utc>,
}

/// A night whose window ended without a run.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct MissedNight {
    /// Branch.
    pub branch_id: i64,
    /// The local date of the night.
    pub night: NaiveDate,
}

/// The end of the night that starts at `starts`: `schedule.window` later.
/// A window too long to compute is empty: never a night that lasts forever.
fn window_from(settings: &Settings, starts: DateTime<Utc>) -> DateTime<Utc> {
    chrono::Duration::from_std(settings.schedule.window)
        .ok()
        .and_then(|length| starts.checked_add_signed(length))
        .unwrap_or(starts)
}

/// The latest night of a branch whose start has come, with its window;
/// `None` (and an error in the log) when PostgreSQL does not know the
/// branch's time zone.
pub fn latest_night(
    settings: &Settings,
    branch: &ScheduledBranch,
    now: DateTime<Utc>,
) -> Option<NightWindow> {
    if !branch.valid {
        tracing::error!(
            branch.id = branch.branch_id,
            time_zone = %branch.time_zone,
            "the branch's time zone is unknown to PostgreSQL: its nights and summaries are \
             skipped until branches.time_zone is fixed; other branches go on"
        );
        return None;
    }
    let tz = branch_time_zone(
        branch.branch_id,
        &branch.time_zone,
        settings.schedule.time_zone,
    );
    let (date, starts) = latest_due_night(now, settings.schedule.nightly_at, tz);
    Some(NightWindow {
        branch_id: branch.branch_id,
        date,
        starts,
        ends: window_from(settings, starts),
    })
}

/// Whether a branch's night is open: no run holds it, and it has not
/// failed `schedule.max_attempts` times.
pub async fn night_open(
    client: &impl GenericClient,
    settings: &Settings,
    branch_id: i64,
    night: NaiveDate,
) -> Result<bool> {
    let state = db::runs::night_state(client, branch_id, night).await?;
    let max = i64::from(settings.schedule.max_attempts);
    if state.failed >= max && state.claimed == 0 {
        tracing::debug!(branch.id = branch_id, %night, failed = state.failed, "night given up after failed attempts");
    }
    Ok(state.claimed == 0 && state.failed < max)
}

/// The nights due at `now`: for every branch with automatic deletion on,
/// its latest night, if its window is still open and no run holds it.
pub async fn due_nights(cx: &Context) -> Result<Vec<NightWindow>> {
    let client = cx.raw_client().await?;
    let now = cx.now();
    let paused = super::pauses::in_force(&client, now).await?;
    let mut due = Vec::new();
    for branch in db::runs::scheduled_branches(&client).await? {
        if paused.iter().any(|p| p.covers(branch.branch_id)) {
            tracing::debug!(
                branch.id = branch.branch_id,
                "deleting is paused: no nightly run"
            );
            continue;
        }
        let Some(night) = latest_night(&cx.settings, &branch, now) else {
            continue;
        };
        // a night is run inside its window only: never by day
        if now < night.ends
            && night_open(&client, &cx.settings, branch.branch_id, night.date).await?
        {
            due.push(night);
        }
    }
    Ok(due)
}

/// Runs every night due at the context's now ([`due_nights`],
/// [`run_nights`]): one tick of the daemon.
pub async fn run_due_nights(
    cx: &Context,
    notifier: Option<&std::sync::Arc<Notifier>>,
) -> Result<Vec<RunReport>> {
    super::pauses::end_expired(&cx.raw_client().await?).await?;
    let due = due_nights(cx).await?;
    run_nights(cx, &due, notifier).await
}

/// Runs the nights of `due`: locks the branches and lists their candidates
/// once, re-checks each night under its lock (another daemon may have
/// taken it meanwhile), then one run per branch, each ending its batches
/// at the end of its own night's window. Errors of one branch are logged
/// and do not stop the others; a night that did not run is retried at a
/// later tick of its window.
#[tracing::instrument(skip_all, fields(branches = due.len()))]
pub async fn run_nights(
    cx: &Context,
    due: &[NightWindow],
    notifier: Option<&std::sync::Arc<Notifier>>,
) -> Result<Vec<RunReport>> {
    if due.is_empty() || cx.stop.is_cancelled() {
        return Ok(Vec::new());
    }
    let branches: Vec<i64> = due.iter().map(|n| n.branch_id).collect();
    let night_of = |branch: i64| due.iter().find(|n| n.branch_id == branch).copied();
    // a busy branch is not waited for: a later tick of the night retries it
    let mut prepared = prepare(cx, &branches, cx.now(), std::time::Duration::ZERO).await?;
    let client = cx.raw_client().await?;
    let mut closed = Vec::new();
    for plan in &prepared.plans {
        if let Some(night) = night_of(plan.branch_id) {
            if !night_open(&client, &cx.settings, plan.branch_id, night.date).await? {
                closed.push(plan.branch_id);
            }
        }
    }
    drop(client);
    prepared.drop_branches(&closed).await?;
    // each run may work until its own night's window ends; one whose window
    // is over when its turn comes waits for the next night
    let options_for = |branch_id: i64| {
        let night = night_of(branch_id)?;
        let time_left = (night.ends - cx.now()).to_std().ok()?;
        Some(RunOptions {
            kind: RunKind::Scheduled,
            actor: DAEMON_ACTOR.to_string(),
            night: Some(night.date),
            time_left: Some(time_left),
            guard: Some(cx.settings.schedule.guard),
            batch: cx.settings.batch.clone(),
            notify: notifier.cloned(),
        })
    };
    let mut reports = Vec::new();
    for (branch_id, result) in prepared.execute_each(cx, options_for).await {
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

/// The next nightly instant of every branch with automatic deletion on
/// (branches whose time zone is unknown have none).
pub async fn next_runs(cx: &Context) -> Result<Vec<NextRun>> {
    let client = cx.raw_client().await?;
    let now = cx.now();
    let schedule = &cx.settings.schedule;
    Ok(db::runs::scheduled_branches(&client)
        .await?
        .into_iter()
        .filter(|b| b.valid)
        .map(|b| {
            let tz = branch_time_zone(b.branch_id, &b.time_zone, schedule.time_zone);
            NextRun {
                branch_id: b.branch_id,
                at: next_instant(now, schedule.nightly_at, tz).1,
            }
        })
        .collect())
}

/// The latest night of `tz` whose window has ended at `now`: while
/// tonight's window is open, the night before.
fn last_closed_night(settings: &Settings, tz: chrono_tz::Tz, now: DateTime<Utc>) -> NaiveDate {
    let (tonight, starts) = latest_due_night(now, settings.schedule.nightly_at, tz);
    if now < window_from(settings, starts) {
        tonight.pred_opt().unwrap_or(tonight)
    } else {
        tonight
    }
}

/// The night a branch missed: the latest night whose window has ended
/// without any run, for a branch that had scheduled runs before it (the
/// daemon was down, or the database unreachable the whole window).
/// The branch's time zone must be one PostgreSQL knows.
pub async fn missed_night(
    client: &impl GenericClient,
    settings: &Settings,
    branch_id: i64,
    time_zone: &str,
    now: DateTime<Utc>,
) -> Result<Option<NaiveDate>> {
    let tz = branch_time_zone(branch_id, time_zone, settings.schedule.time_zone);
    let date = last_closed_night(settings, tz, now);
    Ok(match db::runs::last_night(client, branch_id).await? {
        Some(last) if last < date => Some(date),
        _ => None,
    })
}

/// Every night of `from..=to` that a branch missed, by the rule of
/// [`missed_night`] applied to each night instead of the latest only: its
/// window has ended at `now`, the branch had a scheduled run on an earlier
/// night, none on this one (`run`: the nights scheduled runs started on),
/// and automatic deletion was on when the night began (`on_at`).
pub fn missed_between(
    settings: &Settings,
    tz: chrono_tz::Tz,
    run: &std::collections::BTreeSet<NaiveDate>,
    on_at: impl Fn(DateTime<Utc>) -> bool,
    (from, to): (NaiveDate, NaiveDate),
    now: DateTime<Utc>,
) -> Vec<NaiveDate> {
    let Some(&first) = run.first() else {
        return Vec::new();
    };
    let to = to.min(last_closed_night(settings, tz, now));
    let mut missed = Vec::new();
    let mut night = from.max(first);
    while night <= to {
        let starts = crate::clock::due_instant(night, settings.schedule.nightly_at, tz);
        if night > first && !run.contains(&night) && on_at(starts) {
            missed.push(night);
        }
        let Some(next) = night.succ_opt() else { break };
        night = next;
    }
    missed
}

/// The missed nights of every branch with automatic deletion on.
pub async fn missed_nights(cx: &Context) -> Result<Vec<MissedNight>> {
    let client = cx.raw_client().await?;
    let now = cx.now();
    let mut missed = Vec::new();
    for b in db::runs::scheduled_branches(&client).await? {
        if !b.valid {
            continue;
        }
        if let Some(night) =
            missed_night(&client, &cx.settings, b.branch_id, &b.time_zone, now).await?
        {
            missed.push(MissedNight {
                branch_id: b.branch_id,
                night,
            });
        }
    }
    Ok(missed)
}
