//! The summaries mails report, as plain data the core fills in, and the
//! template data made from them: counts only, no names, no guests'
//! addresses, no guest ids. Labels are the templates' (`labels.LOCALE.hbs`);
//! the data carries the names of types, statuses and blockers.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde_json::{json, Value};

use crate::model::{GuestType, Locale, RunKind, RunStatus, Seal};

/// Where and how a branch's mails go.
#[derive(Clone, Debug)]
pub struct BranchMail {
    /// Branch.
    pub branch_id: i64,
    /// Branch name.
    pub branch_name: String,
    /// The branch's time zone name (IANA; the configured one when unknown).
    pub time_zone: String,
    /// The branch's mail language, if it has its own.
    pub locale: Option<Locale>,
    /// Managers' addresses.
    pub recipients: Vec<String>,
}

/// What a run did in one branch, per guest type.
#[derive(Clone, Debug)]
pub struct TypeActions {
    /// Guest type.
    pub guest_type: GuestType,
    /// Guests anonymized.
    pub anonymized: i64,
    /// Newsletter subscriptions ended.
    pub unsubscribed: i64,
    /// Fiscal erasures.
    pub fiscal_erased: i64,
}

/// Why the guard held a branch.
#[derive(Clone, Debug)]
pub struct HeldSummary {
    /// Guests the run would have anonymized.
    pub candidates: i64,
    /// Guests of the branch not yet anonymized.
    pub not_anonymized: i64,
    /// The guard fraction.
    pub guard: f64,
}

/// The completed summary of one branch of a run.
#[derive(Clone, Debug)]
pub struct CompletedSummary {
    /// The branch and its recipients.
    pub branch: BranchMail,
    /// Run id.
    pub run_id: i64,
    /// Nightly or manual.
    pub kind: RunKind,
    /// How it ended.
    pub status: RunStatus,
    /// Its cut-off.
    pub cutoff: DateTime<Utc>,
    /// Wall time.
    pub duration_ms: u64,
    /// Counts per guest type (types with nothing done are left out of the mail).
    pub by_type: Vec<TypeActions>,
    /// Guests anonymized in the branch.
    pub anonymized: i64,
    /// Newsletter subscriptions ended in the branch.
    pub unsubscribed: i64,
    /// Fiscal erasures in the branch.
    pub fiscal_erased: i64,
    /// Guests left for the next run (the whole run).
    pub remaining: i64,
    /// The guard's hold, if it held the branch.
    pub held: Option<HeldSummary>,
    /// The error that ended the run.
    pub error: Option<String>,
    /// The protocol's newest seal after the run's `run_finished` row.
    pub seal: Option<Seal>,
}

/// Overdue and due-soon personal data of one guest type.
#[derive(Clone, Debug)]
pub struct TypeDue {
    /// Guest type.
    pub guest_type: GuestType,
    /// Overdue.
    pub overdue: i64,
    /// Due within the window.
    pub due_soon: i64,
}

/// The pending summary of one branch.
#[derive(Clone, Debug)]
pub struct PendingSummary {
    /// The branch and its recipients.
    pub branch: BranchMail,
    /// The instant it describes.
    pub at: DateTime<Utc>,
    /// The "due soon" window in days.
    pub window_days: i64,
    /// Whether nightly runs process the branch.
    pub auto_delete: bool,
    /// Personal data per type.
    pub types: Vec<TypeDue>,
    /// Company guests' fiscal data: overdue.
    pub fiscal_overdue: i64,
    /// Company guests' fiscal data: due soon.
    pub fiscal_due_soon: i64,
    /// Newsletter subscriptions that end with the anonymizations.
    pub unsubscriptions: i64,
    /// Blocked guests per blocker name.
    pub blocked: BTreeMap<String, i64>,
    /// Types without a period.
    pub not_configured: Vec<GuestType>,
    /// Due-soon actions per local day.
    pub per_day: BTreeMap<NaiveDate, i64>,
    /// Open erasure requests past the answer time: (request id, days open).
    pub erasure_overdue: Vec<(i64, i64)>,
    /// The night whose deletion did not take place, if one was missed.
    pub missed_night: Option<NaiveDate>,
    /// Legal holds over the branch or its guests past their date: (hold id, date).
    pub expired_holds: Vec<(i64, NaiveDate)>,
    /// The end of a pause of deleting in force over the branch.
    pub paused_until: Option<DateTime<Utc>>,
    /// Columns of the guest data nobody decided on (`table.column`).
    pub unclassified_columns: Vec<String>,
    /// Overdue guests a restored backup brought back (the next run takes them).
    pub restored_overdue: Option<i64>,
}

impl PendingSummary {
    /// Overdue and due-soon personal data, all types.
    pub fn totals(&self) -> (i64, i64) {
        self.types
            .iter()
            .fold((0, 0), |(o, d), t| (o + t.overdue, d + t.due_soon))
    }
}

fn date_label(at: DateTime<Utc>, tz: Tz, locale: Locale) -> String {
    let local = at.with_timezone(&tz);
    match locale {
        Locale::En => local.format("%Y-%m-%d %H:%M %Z").to_string(),
        Locale::De => local.format("%d.%m.%Y %H:%M %Z").to_string(),
    }
}

fn branch(b: &BranchMail) -> Value {
    json!({"id": b.branch_id, "name": b.branch_name})
}

/// Template data of a pending summary.
pub(super) fn pending_data(p: &PendingSummary, tz: Tz, locale: Locale) -> Value {
    let types: Vec<Value> = p
        .types
        .iter()
        .filter(|t| t.overdue + t.due_soon > 0)
        .map(|t| json!({"type": t.guest_type, "overdue": t.overdue, "due_soon": t.due_soon}))
        .collect();
    let blocked: Vec<Value> = p
        .blocked
        .iter()
        .map(|(reason, guests)| json!({"reason": reason, "guests": guests}))
        .collect();
    let not_configured: Vec<Value> = p
        .not_configured
        .iter()
        .map(|t| json!({"type": t}))
        .collect();
    // one bar per local day of the window, empty days included
    let first = p.at.with_timezone(&tz).date_naive();
    let max = p.per_day.values().copied().max().unwrap_or(0).max(1);
    let days: Vec<Value> = (0..p.window_days)
        .map(|i| {
            let day = first + chrono::Duration::days(i);
            let count = p.per_day.get(&day).copied().unwrap_or(0);
            let width = if count == 0 {
                0
            } else {
                (count * 100 / max).max(2)
            };
            let label = match locale {
                Locale::En => day.format("%a %m-%d").to_string(),
                Locale::De => day.format("%d.%m.").to_string(),
            };
            json!({"date": label, "count": count, "width": width,
                   "bar": "#".repeat(((count * 30 + max - 1) / max) as usize)})
        })
        .collect();
    let (overdue, due) = p.totals();
    json!({
        "branch": branch(&p.branch),
        "date": date_label(p.at, tz, locale),
        "window_days": p.window_days,
        "auto_delete": p.auto_delete,
        "missed_night": p.missed_night.map(|d| match locale {
            Locale::En => d.format("%Y-%m-%d").to_string(),
            Locale::De => d.format("%d.%m.%Y").to_string(),
        }),
        "expired_holds": p.expired_holds.iter().map(|(id, until)| json!({
            "id": id,
            "until": match locale {
                Locale::En => until.format("%Y-%m-%d").to_string(),
                Locale::De => until.format("%d.%m.%Y").to_string(),
            },
        })).collect::<Vec<_>>(),
        "paused_until": p.paused_until.map(|t| date_label(t, tz, locale)),
        "unclassified_columns": p.unclassified_columns,
        "restored_overdue": p.restored_overdue,
        "types": types,
        "overdue_total": overdue,
        "due_total": due,
        "fiscal": {"overdue": p.fiscal_overdue, "due_soon": p.fiscal_due_soon},
        "fiscal_total": p.fiscal_overdue + p.fiscal_due_soon,
        "unsubscriptions": p.unsubscriptions,
        "blocked": blocked,
        "not_configured": not_configured,
        "days": days,
        "erasure_overdue": p.erasure_overdue
            .iter()
            .map(|(id, days)| json!({"request_id": id, "days_open": days}))
            .collect::<Vec<_>>(),
    })
}

/// Template data of a completed summary.
pub(super) fn completed_data(c: &CompletedSummary, tz: Tz, locale: Locale) -> Value {
    let rows: Vec<Value> = c
        .by_type
        .iter()
        .filter(|t| t.anonymized + t.unsubscribed + t.fiscal_erased > 0)
        .map(|t| {
            json!({"type": t.guest_type,
                   "anonymized": t.anonymized,
                   "unsubscribed": t.unsubscribed,
                   "fiscal_erased": t.fiscal_erased})
        })
        .collect();
    json!({
        "branch": branch(&c.branch),
        "run_id": c.run_id,
        "status": c.status,
        "kind": c.kind,
        "started": date_label(c.cutoff, tz, locale),
        "duration": humantime::format_duration(std::time::Duration::from_secs(
            c.duration_ms.div_ceil(1000))).to_string(),
        "rows": rows,
        "anonymized_total": c.anonymized,
        "unsubscribed_total": c.unsubscribed,
        "fiscal_total": c.fiscal_erased,
        "remaining": c.remaining,
        "held": c.held.as_ref().map(|h| json!({
            "candidates": h.candidates,
            "not_anonymized": h.not_anonymized,
            "guard_percent": (h.guard * 100.0).round() as i64,
        })),
        "error": c.error.as_deref().map(crate::address::mask_in_text),
        "seal": c.seal.as_ref().map(Seal::to_string),
    })
}
