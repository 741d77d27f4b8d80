//! The daily pending summary of a branch (the mail "Löschhinweise"): what
//! its pending report says for the next [`WINDOW_DAYS`], the erasure
//! requests past `gdpr.answer_within` and a missed night. Due once per
//! local day from `schedule.pending_at` on, claimed through
//! `retention.pending_snapshots` so that it is decided once per day across
//! restarts and several daemons, skipped (but recorded) when nothing is
//! overdue or due.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::branch_settings::{self, BranchSettings};
use super::context::Context;
use super::{columns, erasure, holds, night, pauses, pending};
use crate::clock::{branch_time_zone, latest_due_night};
use crate::db::{self, GenericClient};
use crate::error::Result;
use crate::model::{GuestType, PendingAction, PendingStatus};
use crate::notify::{Notifier, PendingSummary, TypeDue};
use crate::settings::Settings;

/// The "due soon" window of the pending summary, in days.
pub const WINDOW_DAYS: i64 = 14;

/// Why a branch gets no pending summary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NoSummary {
    /// PostgreSQL does not know the branch's time zone (named).
    UnknownTimeZone(String),
    /// The branch has no notification addresses.
    NoAddresses,
}

/// The branches a pending summary is for: `only` whatever its toggle, or
/// every branch whose pending toggle is on; each with why it cannot get one,
/// if it cannot.
pub async fn targets(
    client: &impl GenericClient,
    only: Option<i64>,
) -> Result<Vec<(BranchSettings, Option<NoSummary>)>> {
    if let Some(b) = only {
        super::ensure_branch_exists(client, b).await?;
    }
    let invalid = db::branches::invalid_time_zones(client).await?;
    Ok(branch_settings::list(client, only)
        .await?
        .into_iter()
        .filter(|b| only.is_some() || b.notify_pending)
        .map(|b| {
            let why = match invalid.iter().find(|(id, _)| *id == b.branch_id) {
                Some((_, tz)) => Some(NoSummary::UnknownTimeZone(tz.clone())),
                None if b.notify_addresses.is_empty() => Some(NoSummary::NoAddresses),
                None => None,
            };
            (b, why)
        })
        .collect())
}

/// The pending summary of one branch at `now`; `None` when the branch is
/// not in the report.
pub async fn summary(
    client: &impl GenericClient,
    settings: &Settings,
    branch: &BranchSettings,
    now: DateTime<Utc>,
) -> Result<Option<PendingSummary>> {
    let until = now + chrono::Duration::days(WINDOW_DAYS);
    let mut report = pending::report(client, now, until, Some(branch.branch_id)).await?;
    let Some(p) = report.branches.pop() else {
        return Ok(None);
    };
    let erasure_overdue =
        erasure::overdue(client, branch.branch_id, now, settings.gdpr.answer_within).await?;
    // callers leave out branches whose zone PostgreSQL does not know (`targets`)
    let missed_night = if branch.auto_delete {
        night::missed_night(client, settings, branch.branch_id, &branch.time_zone, now).await?
    } else {
        None
    };
    Ok(Some(PendingSummary {
        branch: branch_settings::mail_target(branch),
        at: now,
        window_days: WINDOW_DAYS,
        auto_delete: p.auto_delete,
        types: GuestType::ALL
            .iter()
            .map(|&t| TypeDue {
                guest_type: t,
                overdue: p.guests(PendingAction::Anonymize, t, PendingStatus::Overdue),
                due_soon: p.guests(PendingAction::Anonymize, t, PendingStatus::DueSoon),
            })
            .collect(),
        fiscal_overdue: p.total(PendingAction::EraseFiscal, PendingStatus::Overdue),
        fiscal_due_soon: p.total(PendingAction::EraseFiscal, PendingStatus::DueSoon),
        unsubscriptions: p.newsletter_unsubscriptions,
        blocked: blocked_by_reason(&p),
        not_configured: p.not_configured_types.clone(),
        per_day: p.days.iter().fold(BTreeMap::new(), |mut per_day, d| {
            *per_day.entry(d.day).or_default() += d.guests;
            per_day
        }),
        erasure_overdue,
        missed_night,
        expired_holds: holds::expired(client, now)
            .await?
            .into_iter()
            .filter(|h| h.branch_id == Some(branch.branch_id))
            .map(|h| (h.id, h.until))
            .collect(),
        paused_until: pauses::in_force(client, now)
            .await?
            .iter()
            .filter(|p| p.covers(branch.branch_id))
            .map(|p| p.until)
            .max(),
        unclassified_columns: columns::unclassified(client).await?,
        restored_overdue: crate::db::ledger::latest_restore(client, Some(branch.branch_id))
            .await?
            .map(|r| r.overdue_brought_back)
            .filter(|n| *n > 0),
    }))
}

/// Blocked guests (both actions) per reason.
fn blocked_by_reason(p: &pending::BranchPending) -> BTreeMap<String, i64> {
    let mut blocked: BTreeMap<String, i64> = BTreeMap::new();
    for c in p
        .counts
        .iter()
        .filter(|c| c.status == PendingStatus::Blocked)
    {
        *blocked
            .entry(c.reason.clone().unwrap_or_else(|| "unknown".into()))
            .or_default() += c.guests;
    }
    blocked
}

/// Queues the pending summaries that are due at the context's now: for
/// each target branch with addresses, once per local day from
/// `schedule.pending_at` on. Returns the queued outbox ids.
#[tracing::instrument(skip_all)]
pub async fn queue_due(cx: &Context, notifier: &Notifier) -> Result<Vec<i64>> {
    let mut client = cx.raw_client().await?;
    let mut queued = Vec::new();
    for (branch, why) in targets(&client, None).await? {
        // a branch nobody would receive a summary for is no error
        if branch.notify_addresses.is_empty() {
            continue;
        }
        match why {
            Some(NoSummary::UnknownTimeZone(tz)) => {
                tracing::error!(
                    branch.id = branch.branch_id,
                    time_zone = %tz,
                    "the branch's time zone is unknown to PostgreSQL: no pending summary until \
                     branches.time_zone is fixed; other branches go on"
                );
                continue;
            }
            Some(NoSummary::NoAddresses) => continue,
            None => {}
        }
        if let Some(id) = queue_if_due(cx, &mut client, notifier, &branch).await? {
            queued.push(id);
        }
    }
    Ok(queued)
}

/// One branch's summary of the day, unless its day is claimed already.
async fn queue_if_due(
    cx: &Context,
    client: &mut db::Object,
    notifier: &Notifier,
    branch: &BranchSettings,
) -> Result<Option<i64>> {
    let schedule = &cx.settings.schedule;
    let tz = branch_time_zone(branch.branch_id, &branch.time_zone, schedule.time_zone);
    let now = cx.now();
    let (day, _) = latest_due_night(now, schedule.pending_at, tz);
    if db::outbox::snapshot_taken(client, branch.branch_id, day).await? {
        return Ok(None);
    }
    let Some(summary) = summary(client, &cx.settings, branch, now).await? else {
        return Ok(None);
    };
    let (overdue, due) = summary.totals();
    let (fiscal_overdue, fiscal_due) = (summary.fiscal_overdue, summary.fiscal_due_soon);
    let tx = client.transaction().await?;
    let claimed = db::outbox::claim_snapshot(
        &tx,
        branch.branch_id,
        day,
        now,
        overdue + fiscal_overdue,
        due + fiscal_due,
    )
    .await?;
    let has_due = overdue + due + fiscal_overdue + fiscal_due > 0;
    let mut queued = None;
    if claimed && (has_due || !summary.erasure_overdue.is_empty()) {
        let key = format!("pending:{}:{day}", branch.branch_id);
        let mail = notifier.pending_mail(&summary, Some(key))?;
        if let Some(id) = notifier.queue(&tx, &mail, now).await? {
            db::outbox::link_snapshot(&tx, branch.branch_id, day, id).await?;
            queued = Some(id);
        }
    } else if claimed {
        tracing::info!(branch.id = branch.branch_id, %day, "nothing overdue or due: no pending summary");
    }
    tx.commit().await?;
    Ok(queued)
}

/// What [`queue_now`] did.
#[derive(Debug, Default)]
pub struct Queued {
    /// Outbox ids of the summaries queued.
    pub ids: Vec<i64>,
    /// Branches that got none, and why.
    pub skipped: Vec<(i64, NoSummary)>,
}

/// Queues the pending summary of `only`, or of every branch whose pending
/// toggle is on, now and whatever the day's claim (`notify pending`).
pub async fn queue_now(cx: &Context, notifier: &Notifier, only: Option<i64>) -> Result<Queued> {
    let mut client = cx.client().await?;
    let now = cx.now();
    let mut queued = Queued::default();
    for (branch, why) in targets(&client, only).await? {
        if let Some(why) = why {
            queued.skipped.push((branch.branch_id, why));
            continue;
        }
        let Some(summary) = summary(&client, &cx.settings, &branch, now).await? else {
            continue;
        };
        let mail = notifier.pending_mail(&summary, None)?;
        let tx = client.transaction().await?;
        if let Some(id) = notifier.queue(&tx, &mail, now).await? {
            queued.ids.push(id);
        }
        tx.commit().await?;
    }
    Ok(queued)
}
