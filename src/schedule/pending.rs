//! The daily pending summary of each branch: due once per local day from
//! `schedule.pending_at` on, claimed through `retention.pending_snapshots`
//! so that it is decided once per day across restarts and several daemons,
//! skipped (but recorded) when nothing is overdue or due.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::clock::{branch_time_zone, latest_due_night, Clock};
use crate::db::runs::ScheduledBranch;
use crate::db::{self, DbPool, GenericClient};
use crate::error::Result;
use crate::model::{GuestType, PendingAction, PendingStatus};
use crate::notify::{Notifier, PendingSummary, TypeDue, WINDOW_DAYS};
use crate::retention::branch_settings::{self, BranchSettings};
use crate::retention::{erasure, pending};
use crate::schedule::nightly;
use crate::settings::Settings;

/// The pending summary of one branch at `now`: the pending report over
/// [`WINDOW_DAYS`] and the erasure requests past `gdpr.answer_within`.
/// `None` when the branch is not in the report.
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
    let anonymize = |t: GuestType, status: PendingStatus| -> i64 {
        p.counts
            .iter()
            .filter(|c| {
                c.action == PendingAction::Anonymize && c.guest_type == t && c.status == status
            })
            .map(|c| c.guests)
            .sum()
    };
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
    let mut per_day = BTreeMap::new();
    for d in &p.days {
        *per_day.entry(d.day).or_default() += d.guests;
    }
    let scheduled = ScheduledBranch {
        branch_id: branch.branch_id,
        time_zone: branch.time_zone.clone(),
        valid: true,
    };
    let missed_night = if branch.auto_delete {
        nightly::missed_night(client, settings, &scheduled, now).await?
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
                overdue: anonymize(t, PendingStatus::Overdue),
                due_soon: anonymize(t, PendingStatus::DueSoon),
            })
            .collect(),
        fiscal_overdue: p.total(PendingAction::EraseFiscal, PendingStatus::Overdue),
        fiscal_due_soon: p.total(PendingAction::EraseFiscal, PendingStatus::DueSoon),
        unsubscriptions: p.newsletter_unsubscriptions,
        blocked,
        not_configured: p.not_configured_types.clone(),
        per_day,
        erasure_overdue,
        missed_night,
    }))
}

/// The pending summaries that are due: for each branch with addresses and
/// its pending toggle on, once per local day from `schedule.pending_at` on.
/// Returns the queued outbox ids.
#[tracing::instrument(skip_all)]
pub async fn tick(
    pool: &DbPool,
    settings: &Settings,
    notifier: &Notifier,
    clock: &dyn Clock,
) -> Result<Vec<i64>> {
    let mut client = pool.get().await?;
    let mut queued = Vec::new();
    let invalid = db::branches::invalid_time_zones(&client).await?;
    for branch in branch_settings::list(&client, None).await? {
        if !branch.notify_pending || branch.notify_addresses.is_empty() {
            continue;
        }
        if invalid.iter().any(|(b, _)| *b == branch.branch_id) {
            tracing::error!(
                branch.id = branch.branch_id,
                time_zone = %branch.time_zone,
                "the branch's time zone is unknown to PostgreSQL: no pending summary until \
                 branches.time_zone is fixed; other branches go on"
            );
            continue;
        }
        let tz = branch_time_zone(
            branch.branch_id,
            &branch.time_zone,
            settings.schedule.time_zone,
        );
        let now = clock.now();
        let (day, _) = latest_due_night(now, settings.schedule.pending_at, tz);
        if db::outbox::snapshot_taken(&client, branch.branch_id, day).await? {
            continue;
        }
        let Some(summary) = summary(&client, settings, &branch, now).await? else {
            continue;
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
        if claimed && (has_due || !summary.erasure_overdue.is_empty()) {
            let key = format!("pending:{}:{day}", branch.branch_id);
            let mail = notifier.pending_mail(&summary, Some(key))?;
            if let Some(id) = notifier.queue(&tx, &mail, now).await? {
                db::outbox::link_snapshot(&tx, branch.branch_id, day, id).await?;
                queued.push(id);
            }
        } else if claimed {
            tracing::info!(branch.id = branch.branch_id, %day, "nothing overdue or due: no pending summary");
        }
        tx.commit().await?;
    }
    Ok(queued)
}
