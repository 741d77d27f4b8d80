//! `retention.erasure_requests` and what blocks an erasure.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{parsed, GenericClient};
use crate::error::Result;
use crate::model::{GuestType, RequestStatus};

/// The guest of a new request: its branch, type and whether it is
/// anonymized already. `None` when the guest does not exist.
pub async fn guest(
    client: &impl GenericClient,
    guest_id: i64,
) -> Result<Option<(i64, GuestType, bool)>> {
    query!("erasure_guest")
        .opt(client, &[&guest_id])
        .await?
        .map(|r| {
            Ok((
                r.get("branch_id"),
                parsed(&r, "guest_type")?,
                r.get("anonymized"),
            ))
        })
        .transpose()
}

/// Records a request, its protocol row, and ends the guest's newsletter
/// (`retention_api.erasure_request`); `None` when the guest has an open one.
pub async fn request(
    client: &impl GenericClient,
    guest_id: i64,
    reason: &str,
    requested_by: &str,
) -> Result<Option<i64>> {
    query!("erasure_request")
        .one(client, &[&guest_id, &reason, &requested_by])
        .await
        .map(|r| r.get(0))
        .map_err(refused)
}

/// A request as it stands, for the checks before a decision.
#[derive(Debug)]
pub struct Current {
    /// The guest.
    pub guest_id: i64,
    /// Its branch.
    pub branch_id: i64,
    /// Who asked (the label given).
    pub requested_by: String,
    /// `open`, `approved`, `rejected` or `withdrawn`.
    pub status: RequestStatus,
    /// The database login that asked.
    pub requested_login: String,
    /// The database login of this session.
    pub login: String,
}

/// A request; `None` when it does not exist. The decision functions check
/// it again under its row lock.
pub async fn current(client: &impl GenericClient, id: i64) -> Result<Option<Current>> {
    query!("erasure_request_current")
        .opt(client, &[&id])
        .await?
        .map(|r| {
            Ok::<_, crate::error::Error>(Current {
                guest_id: r.get("guest_id"),
                branch_id: r.get("branch_id"),
                requested_by: r.get("requested_by"),
                status: parsed(&r, "status")?,
                requested_login: r.get("requested_login"),
                login: r.get("login"),
            })
        })
        .transpose()
}

/// The requester withdraws an open request (`retention_api.erasure_withdraw`).
pub async fn withdraw(client: &impl GenericClient, id: i64, by: &str) -> Result<()> {
    query!("erasure_request_withdraw")
        .exec(client, &[&id, &by])
        .await
        .map_err(refused)?;
    Ok(())
}

/// Rejects an open request with its reason (`retention_api.erasure_reject`).
pub async fn reject(client: &impl GenericClient, id: i64, reason: &str, by: &str) -> Result<()> {
    query!("erasure_request_reject")
        .exec(client, &[&id, &reason, &by])
        .await
        .map_err(refused)?;
    Ok(())
}

/// What an approval did to the guest.
#[derive(Debug)]
pub struct Approval {
    /// The guest.
    pub guest_id: i64,
    /// Whether its fiscal data was erased as well.
    pub fiscal_erased: bool,
    /// Whether company data stays until its fiscal deadline.
    pub fiscal_kept: bool,
}

/// Approves an open request and anonymizes its guest now
/// (`retention_api.erasure_approve`: four eyes, blockers and the row lock
/// checked there).
pub async fn approve(client: &impl GenericClient, id: i64, by: &str) -> Result<Approval> {
    let r = query!("erasure_request_approve")
        .one(client, &[&id, &by])
        .await
        .map_err(refused)?;
    Ok(Approval {
        guest_id: r.get("guest_id"),
        fiscal_erased: r.get("fiscal_erased"),
        fiscal_kept: r.get("fiscal_kept"),
    })
}

/// A refusal of the erasure functions (a request decided meanwhile, a
/// blocker, a locked guest) is a failure with the function's own words.
fn refused(e: crate::error::Error) -> crate::error::Error {
    let ours = matches!(
        e.sql_state().map(|c| c.code()),
        Some("RT001" | "RT003" | "RT004" | "RT005" | "42501")
    );
    match (&e, ours) {
        (crate::error::Error::Db { source, .. }, true) => match source.as_db_error() {
            Some(db) => crate::error::Error::Failed(db.message().to_string()),
            None => e,
        },
        _ => e,
    }
}

/// After an approval: whether the guest is anonymized, and whether company
/// data stays until its fiscal deadline.
pub async fn guest_state(client: &impl GenericClient, guest_id: i64) -> Result<(bool, bool)> {
    let row = query!("guest_erasure_state")
        .one(client, &[&guest_id])
        .await?;
    Ok((row.get("anonymized"), row.get("fiscal_kept")))
}

/// An erasure request as stored.
#[derive(Debug, Serialize)]
pub struct RequestRow {
    /// Request id.
    pub id: i64,
    /// The guest.
    pub guest_id: i64,
    /// The guest's branch.
    pub branch_id: i64,
    /// Why (the requester's note); blanked when the request is decided.
    pub reason: Option<String>,
    /// Who asked (the label given).
    pub requested_by: String,
    /// The database login that asked.
    pub requested_login: String,
    /// When.
    pub requested_at: DateTime<Utc>,
    /// `open`, `approved` or `rejected`.
    pub status: RequestStatus,
    /// Who decided (the label given).
    pub decided_by: Option<String>,
    /// The database login that decided.
    pub decided_login: Option<String>,
    /// When.
    pub decided_at: Option<DateTime<Utc>>,
}

/// Open requests (or all), oldest first.
pub async fn list(client: &impl GenericClient, all: bool) -> Result<Vec<RequestRow>> {
    query!("erasure_request_list")
        .all(client, &[&all])
        .await?
        .iter()
        .map(|r| {
            Ok(RequestRow {
                id: r.get("id"),
                guest_id: r.get("guest_id"),
                branch_id: r.get("branch_id"),
                reason: r.get("reason"),
                requested_by: r.get("requested_by"),
                requested_login: r.get("requested_login"),
                requested_at: r.get("requested_at"),
                status: parsed(r, "status")?,
                decided_by: r.get("decided_by"),
                decided_login: r.get("decided_login"),
                decided_at: r.get("decided_at"),
            })
        })
        .collect::<Result<Vec<_>>>()
}

/// Open requests of a branch made at or before `limit`: (id, requested at).
pub async fn open_since(
    client: &impl GenericClient,
    branch_id: i64,
    limit: DateTime<Utc>,
) -> Result<Vec<(i64, DateTime<Utc>)>> {
    Ok(query!("erasure_request_overdue")
        .all(client, &[&branch_id, &limit])
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect())
}

/// What stands in the way of erasing a guest now.
#[derive(Debug, Default)]
pub struct Blockers {
    /// Legal holds in force over the guest or its branch.
    pub holds: Vec<i64>,
    /// Unpaid invoices.
    pub unpaid_invoices: i64,
    /// Non-cancelled reservations still to come.
    pub upcoming_reservations: i64,
    /// The next of those.
    pub next_reservation: Option<DateTime<Utc>>,
}

/// [`Blockers`] of several guests in one query, by guest id.
pub async fn blockers(
    client: &impl GenericClient,
    guest_ids: &[i64],
    now: DateTime<Utc>,
) -> Result<Vec<(i64, Blockers)>> {
    Ok(query!("erasure_blockers")
        .all(client, &[&guest_ids, &now])
        .await?
        .iter()
        .map(|r| {
            (
                r.get("guest_id"),
                Blockers {
                    holds: r.get("holds"),
                    unpaid_invoices: r.get("unpaid_invoices"),
                    upcoming_reservations: r.get("upcoming_reservations"),
                    next_reservation: r.get("next_reservation"),
                },
            )
        })
        .collect())
}
