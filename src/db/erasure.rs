//! `retention.erasure_requests` and what blocks an erasure.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{parsed, GenericClient};
use crate::error::Result;
use crate::model::{GuestType, RequestStatus};

/// The guest of a new request, locked: its branch, type and whether it is
/// anonymized already. `None` when the guest does not exist.
pub async fn lock_guest(
    client: &impl GenericClient,
    guest_id: i64,
) -> Result<Option<(i64, GuestType, bool)>> {
    query!("erasure_guest_lock")
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

/// Records a request; `None` when the guest has an open one.
pub async fn insert(
    client: &impl GenericClient,
    guest_id: i64,
    branch_id: i64,
    reason: &str,
    requested_by: &str,
    now: DateTime<Utc>,
) -> Result<Option<i64>> {
    Ok(query!("erasure_request_insert")
        .opt(
            client,
            &[&guest_id, &branch_id, &reason, &requested_by, &now],
        )
        .await?
        .map(|r| r.get(0)))
}

/// A request locked for its decision.
#[derive(Debug)]
pub struct Locked {
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

/// Locks a request; `None` when it does not exist.
pub async fn lock(client: &impl GenericClient, id: i64) -> Result<Option<Locked>> {
    query!("erasure_request_lock")
        .opt(client, &[&id])
        .await?
        .map(|r| {
            Ok::<_, crate::error::Error>(Locked {
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

/// The requester withdraws an open request.
pub async fn withdraw(
    client: &impl GenericClient,
    id: i64,
    by: &str,
    at: DateTime<Utc>,
) -> Result<()> {
    query!("erasure_request_withdraw")
        .exec(client, &[&id, &by, &at])
        .await?;
    Ok(())
}

/// Records a decision: `approved` or `rejected` (with its reason).
pub async fn decide(
    client: &impl GenericClient,
    id: i64,
    status: RequestStatus,
    by: &str,
    at: DateTime<Utc>,
    reason: Option<&str>,
) -> Result<()> {
    query!("erasure_request_decide")
        .exec(client, &[&id, &status.as_str(), &by, &at, &reason])
        .await?;
    Ok(())
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
                    unpaid_invoices: r.get("unpaid_invoices"),
                    upcoming_reservations: r.get("upcoming_reservations"),
                    next_reservation: r.get("next_reservation"),
                },
            )
        })
        .collect())
}
