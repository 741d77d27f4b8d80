//! The pending report (Löschhinweise): what is overdue, due within a window,
//! blocked or not configured, per branch, counted in one set-based pass.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use super::{branch_settings, policy, GuestType};
use crate::db::{self, GenericClient};
use crate::error::Result;
use crate::model::{PendingAction, PendingStatus};

pub use crate::db::guests::PendingGuest;

/// The whole report.
#[derive(Debug, Serialize)]
pub struct PendingReport {
    /// The instant the report describes.
    pub at: DateTime<Utc>,
    /// End of the "due soon" window.
    pub until: DateTime<Utc>,
    /// One entry per branch reported.
    pub branches: Vec<BranchPending>,
}

/// One branch's part of the report.
#[derive(Debug, Serialize)]
pub struct BranchPending {
    /// Branch.
    pub branch_id: i64,
    /// Branch name.
    pub branch_name: String,
    /// Whether nightly runs process the branch.
    pub auto_delete: bool,
    /// Types with no period in force: never anonymized here.
    pub not_configured_types: Vec<GuestType>,
    /// Counts by action, type, status and reason.
    pub counts: Vec<PendingCount>,
    /// Newsletter subscriptions that the overdue and due anonymizations end.
    pub newsletter_unsubscriptions: i64,
    /// Due-soon actions per local day of the window.
    pub days: Vec<DayCount>,
}

/// One count of the report.
#[derive(Debug, Clone, Serialize)]
pub struct PendingCount {
    /// Personal data or a company guest's fiscal data.
    pub action: PendingAction,
    /// Guest type.
    pub guest_type: GuestType,
    /// Overdue, due soon, blocked or not configured.
    pub status: PendingStatus,
    /// Why blocked guests are blocked.
    pub reason: Option<String>,
    /// Number of guests.
    pub guests: i64,
}

/// Due-soon actions on one local day.
#[derive(Debug, Clone, Serialize)]
pub struct DayCount {
    /// Local date in the branch's time zone.
    pub day: NaiveDate,
    /// Personal data or fiscal data.
    pub action: PendingAction,
    /// Number of guests.
    pub guests: i64,
}

impl BranchPending {
    /// Sum of guests with the given action and status.
    pub fn total(&self, action: PendingAction, status: PendingStatus) -> i64 {
        self.counts
            .iter()
            .filter(|c| c.action == action && c.status == status)
            .map(|c| c.guests)
            .sum()
    }

    /// Guests of one action, type and status, whatever the reason.
    pub fn guests(
        &self,
        action: PendingAction,
        guest_type: GuestType,
        status: PendingStatus,
    ) -> i64 {
        self.counts
            .iter()
            .filter(|c| c.action == action && c.guest_type == guest_type && c.status == status)
            .map(|c| c.guests)
            .sum()
    }

    /// Whether anything is overdue or due within the window.
    pub fn has_due(&self) -> bool {
        self.counts
            .iter()
            .any(|c| matches!(c.status, PendingStatus::Overdue | PendingStatus::DueSoon))
    }
}

/// Builds the report at `at` for the window up to `until`.
#[tracing::instrument(skip_all, fields(branch.id = branch_id))]
pub async fn report(
    client: &impl GenericClient,
    at: DateTime<Utc>,
    until: DateTime<Utc>,
    branch_id: Option<i64>,
) -> Result<PendingReport> {
    let policies = policy::effective(client, branch_id).await?;
    let settings = branch_settings::list(client, branch_id).await?;
    let filter = branch_id.map(|b| [b]);
    let groups =
        db::guests::pending_groups(client, at, until, filter.as_ref().map(|f| &f[..])).await?;

    let mut branches: BTreeMap<i64, BranchPending> = settings
        .into_iter()
        .map(|s| {
            let not_configured_types = policies
                .iter()
                .filter(|p| p.branch_id == s.branch_id && p.source == policy::Source::NotConfigured)
                .map(|p| p.guest_type)
                .collect();
            (
                s.branch_id,
                BranchPending {
                    branch_id: s.branch_id,
                    branch_name: s.branch_name,
                    auto_delete: s.auto_delete,
                    not_configured_types,
                    counts: Vec::new(),
                    newsletter_unsubscriptions: 0,
                    days: Vec::new(),
                },
            )
        })
        .collect();
    for g in groups {
        let Some(branch) = branches.get_mut(&g.branch_id) else {
            continue;
        };
        branch.newsletter_unsubscriptions += g.unsubscriptions;
        for (action, status, day) in [
            (PendingAction::Anonymize, g.personal_status, g.personal_day),
            (PendingAction::EraseFiscal, g.fiscal_status, g.fiscal_day),
        ] {
            let Some(status) = status else {
                continue;
            };
            let reason = (status == PendingStatus::Blocked)
                .then(|| g.blocked_reason.clone())
                .flatten();
            add_count(
                &mut branch.counts,
                action,
                g.guest_type,
                status,
                reason,
                g.guests,
            );
            if let Some(day) = day {
                add_day(&mut branch.days, action, day, g.guests);
            }
        }
    }
    for branch in branches.values_mut() {
        // statuses in the order of their names, as the report always listed them
        branch.counts.sort_by(|a, b| {
            (a.action, a.guest_type, a.status.as_str(), &a.reason).cmp(&(
                b.action,
                b.guest_type,
                b.status.as_str(),
                &b.reason,
            ))
        });
        branch.days.sort_by_key(|d| (d.day, d.action));
    }
    Ok(PendingReport {
        at,
        until,
        branches: branches.into_values().collect(),
    })
}

fn add_count(
    counts: &mut Vec<PendingCount>,
    action: PendingAction,
    guest_type: GuestType,
    status: PendingStatus,
    reason: Option<String>,
    guests: i64,
) {
    match counts.iter_mut().find(|c| {
        c.action == action && c.guest_type == guest_type && c.status == status && c.reason == reason
    }) {
        Some(c) => c.guests += guests,
        None => counts.push(PendingCount {
            action,
            guest_type,
            status,
            reason,
            guests,
        }),
    }
}

fn add_day(days: &mut Vec<DayCount>, action: PendingAction, day: NaiveDate, guests: i64) {
    match days.iter_mut().find(|d| d.action == action && d.day == day) {
        Some(d) => d.guests += guests,
        None => days.push(DayCount {
            day,
            action,
            guests,
        }),
    }
}

/// Streams the guests behind the counts to `sink`, one at a time.
pub async fn for_each_guest(
    client: &impl GenericClient,
    at: DateTime<Utc>,
    until: DateTime<Utc>,
    branch_id: Option<i64>,
    sink: impl FnMut(PendingGuest) -> Result<()>,
) -> Result<()> {
    let filter = branch_id.map(|b| [b]);
    db::guests::stream_pending_guests(client, at, until, filter.as_ref().map(|f| &f[..]), sink)
        .await?;
    Ok(())
}
