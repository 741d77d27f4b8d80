//! What the yearly report reads from the action protocol: one statement per
//! figure, each over one year's rows (`sql/queries/yearly_*.sql`). Ids,
//! counts, times and logins only: never a guest id or a guest's data.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;

use super::{parsed, parsed_opt, GenericClient};
use crate::error::Result;
use crate::model::{Action, GuestType};

/// The span of a report: `[from, until)`, months in `time_zone`.
#[derive(Clone, Debug)]
pub struct Span {
    /// First instant of the year.
    pub from: DateTime<Utc>,
    /// First instant of the next year.
    pub until: DateTime<Utc>,
    /// The IANA name of the report's time zone.
    pub time_zone: String,
    /// Only this branch.
    pub branch_id: Option<i64>,
}

/// Protocol rows of one action and guest type in one month.
#[derive(Debug)]
pub struct MonthCount {
    /// 1 to 12.
    pub month: u32,
    /// guest_anonymized, newsletter_unsubscribed or fiscal_data_erased.
    pub action: Action,
    /// The guest's type then.
    pub guest_type: Option<GuestType>,
    /// Rows.
    pub rows: i64,
}

/// The anonymizations, unsubscriptions and fiscal erasures per month.
pub async fn actions_per_month(
    client: &impl GenericClient,
    span: &Span,
) -> Result<Vec<MonthCount>> {
    let rows = query!("yearly_actions_per_month")
        .all(
            client,
            &[&span.from, &span.until, &span.time_zone, &span.branch_id],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(MonthCount {
                month: r.get::<_, i32>("month").unsigned_abs(),
                action: parsed(r, "action")?,
                guest_type: parsed_opt(r, "guest_type")?,
                rows: r.get("rows"),
            })
        })
        .collect()
}

/// A run that ended in the year, as its protocol rows tell it.
#[derive(Debug)]
pub struct RunRow {
    /// Run id.
    pub run_id: i64,
    /// Its branch (none for a run over several).
    pub branch_id: Option<i64>,
    /// Its run_started row's time.
    pub started_at: Option<DateTime<Utc>>,
    /// Its run_finished row's time.
    pub finished_at: DateTime<Utc>,
    /// scheduled or manual.
    pub kind: Option<String>,
    /// The local night of a scheduled run.
    pub night: Option<NaiveDate>,
    /// How it ended.
    pub status: Option<String>,
    /// Guests anonymized.
    pub anonymized: i64,
    /// Guests still due when it ended.
    pub remaining: i64,
}

/// The runs that ended in the year, oldest first.
pub async fn runs(client: &impl GenericClient, span: &Span) -> Result<Vec<RunRow>> {
    let rows = query!("yearly_runs")
        .all(client, &[&span.from, &span.until, &span.branch_id])
        .await?;
    Ok(rows
        .iter()
        .map(|r| RunRow {
            run_id: r.get("run_id"),
            branch_id: r.get("branch_id"),
            started_at: r.get("started_at"),
            finished_at: r.get("finished_at"),
            kind: r.get("kind"),
            night: r.get("night"),
            status: r.get("status"),
            anonymized: r.get("anonymized"),
            remaining: r.get("remaining"),
        })
        .collect())
}

/// Every (branch, night) a scheduled run started on, of every year.
pub async fn scheduled_nights(
    client: &impl GenericClient,
    branch_id: Option<i64>,
) -> Result<Vec<(i64, NaiveDate)>> {
    let rows = query!("yearly_scheduled_nights")
        .all(client, &[&branch_id])
        .await?;
    Ok(rows
        .iter()
        .map(|r| (r.get("branch_id"), r.get("night")))
        .collect())
}

/// Every switch of automatic deletion: (branch, when, on), oldest first.
pub async fn auto_delete_changes(
    client: &impl GenericClient,
    branch_id: Option<i64>,
) -> Result<Vec<(i64, DateTime<Utc>, bool)>> {
    let rows = query!("yearly_auto_delete_changes")
        .all(client, &[&branch_id])
        .await?;
    Ok(rows
        .iter()
        .map(|r| (r.get("branch_id"), r.get("at"), r.get("auto_delete")))
        .collect())
}

/// An erasure request of the year and what became of it.
#[derive(Debug)]
pub struct ErasureRow {
    /// Request id.
    pub request_id: Option<i64>,
    /// Branch.
    pub branch_id: Option<i64>,
    /// When it was recorded.
    pub requested_at: DateTime<Utc>,
    /// Its `--actor`.
    pub requested_by: String,
    /// Its database login.
    pub requested_login: Option<String>,
    /// erasure_approved, erasure_rejected or erasure_withdrawn.
    pub decision: Option<Action>,
    /// When.
    pub decided_at: Option<DateTime<Utc>>,
    /// By whom (`--actor`).
    pub decided_by: Option<String>,
    /// With which login.
    pub decided_login: Option<String>,
}

/// The erasure requests of the year, oldest first.
pub async fn erasures(client: &impl GenericClient, span: &Span) -> Result<Vec<ErasureRow>> {
    let rows = query!("yearly_erasures")
        .all(client, &[&span.from, &span.until, &span.branch_id])
        .await?;
    rows.iter()
        .map(|r| {
            Ok(ErasureRow {
                request_id: r.get("request_id"),
                branch_id: r.get("branch_id"),
                requested_at: r.get("requested_at"),
                requested_by: r.get("requested_by"),
                requested_login: r.get("requested_login"),
                decision: parsed_opt(r, "decision")?,
                decided_at: r.get("decided_at"),
                decided_by: r.get("decided_by"),
                decided_login: r.get("decided_login"),
            })
        })
        .collect()
}

/// A protocol row of the year without its guest.
#[derive(Debug)]
pub struct Record {
    /// Row id.
    pub id: i64,
    /// When.
    pub at: DateTime<Utc>,
    /// What.
    pub action: Action,
    /// Who (`--actor`).
    pub actor: String,
    /// The database login, on rows that record it.
    pub login: Option<String>,
    /// Branch.
    pub branch_id: Option<i64>,
    /// Guest type (of a policy change).
    pub guest_type: Option<GuestType>,
    /// The details without the login.
    pub details: Value,
}

/// The rows of `actions` in the year, oldest first.
pub async fn records(
    client: &impl GenericClient,
    span: &Span,
    actions: &[Action],
) -> Result<Vec<Record>> {
    let names: Vec<&str> = actions.iter().map(|a| a.as_str()).collect();
    let rows = query!("yearly_records")
        .all(client, &[&span.from, &span.until, &span.branch_id, &names])
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Record {
                id: r.get("id"),
                at: r.get("at"),
                action: parsed(r, "action")?,
                actor: r.get("actor"),
                login: r.get("login"),
                branch_id: r.get("branch_id"),
                guest_type: parsed_opt(r, "guest_type")?,
                details: r.get("details"),
            })
        })
        .collect()
}
