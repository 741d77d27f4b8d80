//! What a change of a period does, before and after: per branch it reaches
//! (inheritance included), the guests overdue now, due within the pending
//! window and blocked, whether the next night's guard would stop the run,
//! and how many nights the backlog needs. Computed by the pending report's
//! own queries inside the transaction that makes the change; a what-if
//! rolls it back, so its figures are what `pending` says after the change.

use std::collections::BTreeMap;

use serde::Serialize;

use super::context::Context;
use super::pending::{self, PendingReport};
use super::policy::{self, Change, Edit};
use super::summary::WINDOW_DAYS;
use crate::db::{self, GenericClient};
use crate::error::Result;
use crate::model::{GuestType, PendingAction, PendingStatus};

/// Before and after.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Pair {
    /// Before the change.
    pub before: i64,
    /// After it.
    pub after: i64,
}

/// What the change does to one branch.
#[derive(Debug, Serialize)]
pub struct Effect {
    /// The branch.
    pub branch_id: i64,
    /// Guests whose personal data is overdue now.
    pub overdue: Pair,
    /// Guests due within the pending window.
    pub due_soon: Pair,
    /// Guests due but blocked.
    pub blocked: Pair,
    /// Company guests whose fiscal data is overdue now.
    pub fiscal_overdue: Pair,
    /// Guests not yet anonymized: the guard's base.
    pub not_anonymized: i64,
    /// Whether the next night's guard would stop the run.
    pub guard_stops: bool,
    /// Nights the backlog needs at the recent runs' pace in the window
    /// (`None` before the first completed run).
    pub nights: Option<i64>,
}

/// A change and what it does.
#[derive(Debug, Serialize)]
pub struct Outcome {
    /// The change.
    #[serde(skip)]
    pub change: Change,
    /// Whether it was only tried (rolled back).
    pub dry_run: bool,
    /// The branches it reaches, with what it does there.
    pub branches: Vec<Effect>,
}

/// Makes (or, with `dry_run`, tries) a change of a branch's own period and
/// tells what it does.
pub async fn change(
    cx: &Context,
    branch_id: i64,
    guest_type: GuestType,
    edit: Edit<'_>,
    actor: &str,
    dry_run: bool,
) -> Result<Outcome> {
    let mut client = cx.client().await?;
    let tx = client.transaction().await?;
    let now = cx.now();
    let until = now + chrono::Duration::days(WINDOW_DAYS);
    let periods_before = policy::effective(&tx, None).await?;
    let before = pending::report(&tx, now, until, None).await?;
    let change = policy::apply(&tx, branch_id, guest_type, edit, actor).await?;
    let periods_after = policy::effective(&tx, None).await?;
    let after = pending::report(&tx, now, until, None).await?;
    let reached: Vec<i64> = periods_after
        .iter()
        .filter(|p| !periods_before.contains(p))
        .map(|p| p.branch_id)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut branches = Vec::new();
    let pace = per_second(&tx).await?;
    for b in reached {
        branches.push(effect(cx, &tx, b, &before, &after, pace).await?);
    }
    if dry_run {
        tx.rollback().await?;
    } else {
        tx.commit().await?;
    }
    Ok(Outcome {
        change,
        dry_run,
        branches,
    })
}

async fn effect(
    cx: &Context,
    tx: &impl GenericClient,
    branch_id: i64,
    before: &PendingReport,
    after: &PendingReport,
    pace: Option<f64>,
) -> Result<Effect> {
    let counts = |r: &PendingReport| -> BTreeMap<(PendingAction, PendingStatus), i64> {
        let mut m = BTreeMap::new();
        if let Some(b) = r.branches.iter().find(|b| b.branch_id == branch_id) {
            for c in &b.counts {
                *m.entry((c.action, c.status)).or_default() += c.guests;
            }
        }
        m
    };
    let (b, a) = (counts(before), counts(after));
    let pair = |action, status| Pair {
        before: b.get(&(action, status)).copied().unwrap_or(0),
        after: a.get(&(action, status)).copied().unwrap_or(0),
    };
    let overdue = pair(PendingAction::Anonymize, PendingStatus::Overdue);
    let not_anonymized = db::guests::not_anonymized(tx, branch_id).await?;
    let guard = cx.settings.schedule.guard;
    let window = cx.settings.schedule.window.as_secs_f64();
    Ok(Effect {
        branch_id,
        overdue,
        due_soon: pair(PendingAction::Anonymize, PendingStatus::DueSoon),
        blocked: pair(PendingAction::Anonymize, PendingStatus::Blocked),
        fiscal_overdue: pair(PendingAction::EraseFiscal, PendingStatus::Overdue),
        not_anonymized,
        guard_stops: not_anonymized > 0 && overdue.after as f64 > guard * not_anonymized as f64,
        nights: pace
            .filter(|p| *p > 0.0 && window > 0.0)
            .map(|p| (overdue.after as f64 / (p * window)).ceil() as i64),
    })
}

/// Guests anonymized per second of run time, recently.
async fn per_second(tx: &impl GenericClient) -> Result<Option<f64>> {
    db::runs::throughput(tx).await
}
