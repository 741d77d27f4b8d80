//! The pending report (Löschhinweise): what is overdue, due within a window,
//! blocked or not configured, per branch, counted in one set-based pass.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use deadpool_postgres::GenericClient;
use futures_util::TryStreamExt;
use serde::Serialize;

use super::{branch_settings, policy, GuestType};
use crate::error::Result;

const COUNTS_SQL: &str = concat!(
    include_str!("../../sql/queries/pending_items.sql"),
    include_str!("../../sql/queries/pending_counts.sql")
);
const GUESTS_SQL: &str = concat!(
    include_str!("../../sql/queries/pending_items.sql"),
    include_str!("../../sql/queries/pending_guests.sql")
);

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
    /// `anonymize` (personal data) or `erase_fiscal` (company data).
    pub action: String,
    /// Guest type.
    pub guest_type: GuestType,
    /// `overdue`, `due_soon`, `blocked` or `not_configured`.
    pub status: String,
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
    /// `anonymize` or `erase_fiscal`.
    pub action: String,
    /// Number of guests.
    pub guests: i64,
}

impl BranchPending {
    /// Sum of guests with the given action and status.
    pub fn total(&self, action: &str, status: &str) -> i64 {
        self.counts
            .iter()
            .filter(|c| c.action == action && c.status == status)
            .map(|c| c.guests)
            .sum()
    }

    /// Whether anything is overdue or due within the window.
    pub fn has_due(&self) -> bool {
        self.counts
            .iter()
            .any(|c| c.status == "overdue" || c.status == "due_soon")
    }
}

/// Builds the report at `at` for the window up to `until`.
#[tracing::instrument(skip_all, err)]
pub async fn report(
    client: &impl GenericClient,
    at: DateTime<Utc>,
    until: DateTime<Utc>,
    branch_id: Option<i64>,
) -> Result<PendingReport> {
    let policies = policy::effective(client, branch_id).await?;
    let settings = branch_settings::list(client, branch_id).await?;
    let branch_filter: Option<Vec<i64>> = branch_id.map(|b| vec![b]);
    let rows = client
        .query(COUNTS_SQL, &[&at, &until, &branch_filter])
        .await?;

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
    for r in rows {
        let Some(branch) = branches.get_mut(&r.get::<_, i64>("branch_id")) else {
            continue;
        };
        let guest_type: GuestType = r.get::<_, String>("guest_type").parse()?;
        let guests: i64 = r.get("guests");
        let reason: Option<String> = r.get("blocked_reason");
        branch.newsletter_unsubscriptions += r.get::<_, i64>("unsubscriptions");
        for (action, status, day) in [
            ("anonymize", "personal_status", "personal_day"),
            ("erase_fiscal", "fiscal_status", "fiscal_day"),
        ] {
            let Some(status) = r.get::<_, Option<String>>(status) else {
                continue;
            };
            let reason = (status == "blocked").then(|| reason.clone()).flatten();
            add_count(
                &mut branch.counts,
                action,
                guest_type,
                status,
                reason,
                guests,
            );
            if let Some(day) = r.get::<_, Option<NaiveDate>>(day) {
                add_day(&mut branch.days, action, day, guests);
            }
        }
    }
    for branch in branches.values_mut() {
        branch.counts.sort_by(|a, b| {
            (&a.action, a.guest_type, &a.status, &a.reason).cmp(&(
                &b.action,
                b.guest_type,
                &b.status,
                &b.reason,
            ))
        });
        branch
            .days
            .sort_by(|a, b| (a.day, &a.action).cmp(&(b.day, &b.action)));
    }
    Ok(PendingReport {
        at,
        until,
        branches: branches.into_values().collect(),
    })
}

fn add_count(
    counts: &mut Vec<PendingCount>,
    action: &str,
    guest_type: GuestType,
    status: String,
    reason: Option<String>,
    guests: i64,
) {
    match counts.iter_mut().find(|c| {
        c.action == action && c.guest_type == guest_type && c.status == status && c.reason == reason
    }) {
        Some(c) => c.guests += guests,
        None => counts.push(PendingCount {
            action: action.to_string(),
            guest_type,
            status,
            reason,
            guests,
        }),
    }
}

fn add_day(days: &mut Vec<DayCount>, action: &str, day: NaiveDate, guests: i64) {
    match days.iter_mut().find(|d| d.action == action && d.day == day) {
        Some(d) => d.guests += guests,
        None => days.push(DayCount {
            day,
            action: action.to_string(),
            guests,
        }),
    }
}

/// One guest behind the counts.
#[derive(Debug, Serialize)]
pub struct PendingGuest {
    /// Guest id.
    pub guest_id: i64,
    /// Branch.
    pub branch_id: i64,
    /// `anonymize` or `erase_fiscal`.
    pub action: String,
    /// Guest type.
    pub guest_type: String,
    /// `overdue`, `due_soon` or `blocked`.
    pub status: String,
    /// When the action is due.
    pub deadline: DateTime<Utc>,
    /// Why blocked.
    pub blocked_reason: Option<String>,
}

/// Streams the guests behind the counts to `sink`, one at a time.
pub async fn for_each_guest(
    client: &impl GenericClient,
    at: DateTime<Utc>,
    until: DateTime<Utc>,
    branch_id: Option<i64>,
    mut sink: impl FnMut(PendingGuest) -> Result<()>,
) -> Result<()> {
    let branch_filter: Option<Vec<i64>> = branch_id.map(|b| vec![b]);
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 3] = [&at, &until, &branch_filter];
    let stream = client.query_raw(GUESTS_SQL, params).await?;
    futures_util::pin_mut!(stream);
    while let Some(r) = stream.try_next().await? {
        sink(PendingGuest {
            guest_id: r.get("guest_id"),
            branch_id: r.get("branch_id"),
            action: r.get("action"),
            guest_type: r.get("guest_type"),
            status: r.get("status"),
            deadline: r.get("deadline"),
            blocked_reason: r.get("blocked_reason"),
        })?;
    }
    Ok(())
}
