//! The guest tables as the rules see them: one guest's classification,
//! the pending report's aggregates, and the batch statements (lock, re-check
//! and anonymize) that the run and approved erasures share.

use chrono::{DateTime, NaiveDate, Utc};

use super::runs::BatchStatements;
use super::{parsed, parsed_opt, GenericClient};
use crate::error::{Error, Result};
use crate::model::{Action, GuestType, PendingAction, PendingStatus};

/// Whether a guest exists.
pub async fn exists(client: &impl GenericClient, guest_id: i64) -> Result<bool> {
    Ok(query!("guest_exists")
        .one(client, &[&guest_id])
        .await?
        .get(0))
}

/// A guest's branch, if the guest exists.
pub async fn branch_of(client: &impl GenericClient, guest_id: i64) -> Result<Option<i64>> {
    Ok(query!("guest_branch")
        .opt(client, &[&guest_id])
        .await?
        .map(|r| r.get(0)))
}

/// One guest as `retention.guest_classification` sees it.
#[derive(Debug, Clone)]
pub struct GuestRecord {
    /// Guest.
    pub guest_id: i64,
    /// Branch of the guest.
    pub branch_id: i64,
    /// Type, first match wins.
    pub guest_type: GuestType,
    /// Greatest of creation, manual edit, sale, booking and newsletter sign-up.
    pub last_activity: DateTime<Utc>,
    /// When personal data is due; `None` when the period is not configured.
    pub personal_deadline: Option<DateTime<Utc>>,
    /// When a company guest's fiscal data is due; `None` where it does not apply.
    pub fiscal_deadline: Option<DateTime<Utc>>,
    /// Why the guest may not be touched, if anything stops it.
    pub blocked_reason: Option<String>,
    /// When personal data was anonymized.
    pub anonymized_at: Option<DateTime<Utc>>,
    /// When fiscal data was erased.
    pub fiscal_erased_at: Option<DateTime<Utc>>,
    /// The facts behind the values.
    pub facts: Facts,
}

/// The inputs of a classification, for the table form's explanations.
#[derive(Debug, Clone)]
pub struct Facts {
    /// Marked verified.
    pub verified: bool,
    /// A non-blank company is entered.
    pub has_company: bool,
    /// Profile created.
    pub created_at: Option<DateTime<Utc>>,
    /// Last manual edit.
    pub profile_updated_at: Option<DateTime<Utc>>,
    /// Latest sale.
    pub last_sale_at: Option<DateTime<Utc>>,
    /// Latest booking made.
    pub last_booked_at: Option<DateTime<Utc>>,
    /// Newsletter sign-up.
    pub subscribed_at: Option<DateTime<Utc>>,
    /// Subscription still active.
    pub newsletter_active: bool,
    /// Latest moment a non-cancelled reservation is for.
    pub latest_reservation_for: Option<DateTime<Utc>>,
    /// Latest invoice.
    pub last_invoice_at: Option<DateTime<Utc>>,
    /// Unpaid invoices.
    pub unpaid_invoices: i64,
    /// Type whose period governs personal data.
    pub personal_period_type: GuestType,
    /// That period.
    pub personal_period: Option<String>,
    /// Inherited from the head office.
    pub personal_period_inherited: bool,
    /// Company period.
    pub fiscal_period: Option<String>,
    /// Inherited from the head office.
    pub fiscal_period_inherited: bool,
}

/// Reads one guest's classification with the facts behind it (index path).
pub async fn classify(client: &impl GenericClient, guest_id: i64) -> Result<Option<GuestRecord>> {
    let Some(row) = query!("classify_guest").opt(client, &[&guest_id]).await? else {
        return Ok(None);
    };
    let facts = Facts {
        verified: row.get("verified"),
        has_company: row.get("has_company"),
        created_at: row.get("created_at"),
        profile_updated_at: row.get("profile_updated_at"),
        last_sale_at: row.get("last_sale_at"),
        last_booked_at: row.get("last_booked_at"),
        subscribed_at: row.get("subscribed_at"),
        newsletter_active: row.get("newsletter_active"),
        latest_reservation_for: row.get("latest_reservation_for"),
        last_invoice_at: row.get("last_invoice_at"),
        unpaid_invoices: row.get("unpaid_invoices"),
        personal_period_type: parsed(&row, "personal_period_type")?,
        personal_period: row.get("personal_period"),
        personal_period_inherited: row
            .get::<_, Option<bool>>("personal_period_inherited")
            .unwrap_or(false),
        fiscal_period: row.get("fiscal_period"),
        fiscal_period_inherited: row
            .get::<_, Option<bool>>("fiscal_period_inherited")
            .unwrap_or(false),
    };
    Ok(Some(GuestRecord {
        guest_id,
        branch_id: row.get("branch_id"),
        guest_type: parsed(&row, "guest_type")?,
        last_activity: row.get("last_activity"),
        personal_deadline: row.get("personal_deadline"),
        fiscal_deadline: row.get("fiscal_deadline"),
        blocked_reason: row.get("blocked_reason"),
        anonymized_at: row.get("anonymized_at"),
        fiscal_erased_at: row.get("fiscal_erased_at"),
        facts,
    }))
}

/// One group of the pending report's aggregate (see `pending_counts.sql`).
#[derive(Debug)]
pub struct PendingGroup {
    /// Branch.
    pub branch_id: i64,
    /// Guest type.
    pub guest_type: GuestType,
    /// Status of the personal data (`None`: nothing in the window).
    pub personal_status: Option<PendingStatus>,
    /// Status of a company guest's fiscal data.
    pub fiscal_status: Option<PendingStatus>,
    /// The blocker, where a status is `blocked`.
    pub blocked_reason: Option<String>,
    /// Local due day of the personal data, where due soon.
    pub personal_day: Option<NaiveDate>,
    /// Local due day of the fiscal data, where due soon.
    pub fiscal_day: Option<NaiveDate>,
    /// Guests in the group.
    pub guests: i64,
    /// Of those, active newsletter subscriptions that end.
    pub unsubscriptions: i64,
}

/// The pending report's groups at `at` for the window up to `until`.
pub async fn pending_groups(
    client: &impl GenericClient,
    at: DateTime<Utc>,
    until: DateTime<Utc>,
    branches: Option<&[i64]>,
) -> Result<Vec<PendingGroup>> {
    let rows = query!("pending_counts")
        .all(client, &[&at, &until, &branches])
        .await?;
    rows.iter()
        .map(|r| {
            Ok(PendingGroup {
                branch_id: r.get("branch_id"),
                guest_type: parsed(r, "guest_type")?,
                personal_status: parsed_opt(r, "personal_status")?,
                fiscal_status: parsed_opt(r, "fiscal_status")?,
                blocked_reason: r.get("blocked_reason"),
                personal_day: r.get("personal_day"),
                fiscal_day: r.get("fiscal_day"),
                guests: r.get("guests"),
                unsubscriptions: r.get("unsubscriptions"),
            })
        })
        .collect()
}

/// One guest behind the pending counts.
#[derive(Debug, serde::Serialize)]
pub struct PendingGuest {
    /// Guest id.
    pub guest_id: i64,
    /// Branch.
    pub branch_id: i64,
    /// Anonymize or erase fiscal data.
    pub action: PendingAction,
    /// Guest type.
    pub guest_type: GuestType,
    /// Overdue, due soon or blocked.
    pub status: PendingStatus,
    /// When the action is due.
    pub deadline: DateTime<Utc>,
    /// Why blocked.
    pub blocked_reason: Option<String>,
}

/// Streams the guests behind the pending counts to `sink`, one at a time.
pub async fn stream_pending_guests(
    client: &impl GenericClient,
    at: DateTime<Utc>,
    until: DateTime<Utc>,
    branches: Option<&[i64]>,
    sink: impl FnMut(PendingGuest) -> Result<()>,
) -> Result<u64> {
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 3] = [&at, &until, &branches];
    let stream = query!("pending_guests").raw(client, params).await?;
    super::drain(
        stream,
        |r| {
            Ok(PendingGuest {
                guest_id: r.get("guest_id"),
                branch_id: r.get("branch_id"),
                action: parsed(r, "action")?,
                guest_type: parsed(r, "guest_type")?,
                status: parsed(r, "status")?,
                deadline: r.get("deadline"),
                blocked_reason: r.get("blocked_reason"),
            })
        },
        sink,
    )
    .await
}

/// The parameters of [`run_batch`].
#[derive(Debug)]
pub struct BatchParams<'a> {
    /// The run's candidate lists.
    pub plan_ids: &'a [i64],
    /// The guest id after which the batch starts.
    pub after: i64,
    /// Its last guest id ([`crate::db::runs::next_batch`]).
    pub upto: i64,
    /// Deadlines up to this instant are due (never after now).
    pub cutoff: DateTime<Utc>,
    /// Actor of the protocol rows.
    pub actor: &'a str,
    /// The run, running under this session's branch locks.
    pub run_id: i64,
}

/// What [`run_batch`] did: the candidates it found and locked, protocol
/// rows per (branch, action, guest type), guests changed.
#[derive(Debug, Default)]
pub struct BatchRows {
    /// The candidates in the batch's range.
    pub listed: i64,
    /// Those locked (`FOR UPDATE SKIP LOCKED`) and re-checked.
    pub locked: i64,
    /// (branch, action, guest type, rows) of the protocol rows written.
    pub actions: Vec<(i64, Action, GuestType, i64)>,
    /// Guests changed.
    pub guests: i64,
}

/// One batch in one statement (`retention_api.run_batch`): takes the
/// candidates of the lists in its range of guest ids, locks the guests nobody else holds with
/// their reservations and subscriptions, re-checks the rules, anonymizes,
/// erases fiscal data that is due and writes the protocol rows, in the
/// caller's transaction.
pub async fn run_batch(
    client: &impl GenericClient,
    statements: &BatchStatements,
    p: &BatchParams<'_>,
) -> Result<BatchRows> {
    let rows = statements
        .batch
        .all(
            client,
            &[
                &p.plan_ids,
                &p.after,
                &p.upto,
                &p.cutoff,
                &p.actor,
                &p.run_id,
            ],
        )
        .await?;
    let mut batch = BatchRows::default();
    for row in rows {
        let n: i64 = row.get("guests");
        match row.get::<_, &str>("action") {
            "listed" => batch.listed = n,
            "locked" => batch.locked = n,
            "guests_updated" => batch.guests = n,
            _ => {
                let branch_id: Option<i64> = row.get("branch_id");
                let branch_id = branch_id.ok_or_else(|| {
                    Error::Failed("run_batch returned an action without its branch".into())
                })?;
                let action = parsed(&row, "action")?;
                batch
                    .actions
                    .push((branch_id, action, parsed(&row, "guest_type")?, n));
            }
        }
    }
    Ok(batch)
}

/// Guests of a branch not yet anonymized (the guard's base).
pub async fn not_anonymized(client: &impl GenericClient, branch_id: i64) -> Result<i64> {
    Ok(query!("run_not_anonymized")
        .one(client, &[&branch_id])
        .await?
        .get(0))
}
