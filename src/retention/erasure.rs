//! Erasure requests under the four-eyes principle: one admin requests (the
//! guest's newsletter ends at once), a second one approves (the guest is
//! anonymized now, by the run's own statement) or rejects. Unpaid invoices
//! and future reservations block approval.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::ensure_guest_exists;
use crate::db::erasure::{self as requests, RequestRow};
use crate::db::{self, GenericClient};
use crate::error::{Error, Refusal, Result};
use crate::model::RequestStatus;

/// An erasure request as listed.
#[derive(Debug, Serialize)]
pub struct Request {
    /// The request as stored.
    #[serde(flatten)]
    pub row: RequestRow,
    /// What stands in the way of approval right now.
    pub blockers: Vec<String>,
}

/// What stands in the way of erasing a guest now: unpaid invoices and
/// reservations still to come.
pub async fn blockers(
    client: &impl GenericClient,
    guest_id: i64,
    now: DateTime<Utc>,
) -> Result<Vec<String>> {
    Ok(blockers_of(client, &[guest_id], now)
        .await?
        .remove(&guest_id)
        .unwrap_or_default())
}

/// [`blockers`] of several guests in one query.
async fn blockers_of(
    client: &impl GenericClient,
    guest_ids: &[i64],
    now: DateTime<Utc>,
) -> Result<HashMap<i64, Vec<String>>> {
    Ok(requests::blockers(client, guest_ids, now)
        .await?
        .into_iter()
        .map(|(guest_id, b)| {
            let mut out = Vec::new();
            if !b.holds.is_empty() {
                let ids: Vec<String> = b.holds.iter().map(i64::to_string).collect();
                out.push(format!("legal hold {}", ids.join(", ")));
            }
            if b.unpaid_invoices > 0 {
                out.push(format!("{} unpaid invoice(s)", b.unpaid_invoices));
            }
            if let (n @ 1.., Some(next)) = (b.upcoming_reservations, b.next_reservation) {
                out.push(format!(
                    "{n} reservation(s) still to come (next {})",
                    next.format("%Y-%m-%d %H:%M UTC")
                ));
            }
            (guest_id, out)
        })
        .collect())
}

/// Records a request and ends the guest's newsletter subscription, in one
/// transaction (`retention_api.erasure_request`). Returns the request id.
#[tracing::instrument(skip_all, fields(guest.id = guest_id))]
pub async fn request(
    client: &mut db::Object,
    guest_id: i64,
    reason: &str,
    actor: &str,
) -> Result<i64> {
    if reason.trim().is_empty() {
        return Err(Error::Invalid(
            "--reason is empty: say why the guest asked (e.g. \"e-mail of 2026-11-20\")".into(),
        ));
    }
    ensure_guest_exists(&*client, guest_id).await?;
    let (_, _, anonymized) = requests::guest(&*client, guest_id)
        .await?
        .ok_or(Error::Refused(Refusal::UnknownGuest(guest_id)))?;
    if anonymized {
        return Err(Error::Invalid(format!(
            "guest {guest_id} is anonymized already: there is nothing left to erase \
             (fiscal data of company guests goes at its own deadline)"
        )));
    }
    let tx = client.transaction().await?;
    let Some(id) = requests::request(&tx, guest_id, reason, actor).await? else {
        return Err(Error::Refused(Refusal::OpenRequest(guest_id)));
    };
    tx.commit().await?;
    Ok(id)
}

/// An open request; its decision checks again under the row lock.
async fn open_request(client: &impl GenericClient, id: i64) -> Result<requests::Current> {
    let row = requests::current(client, id)
        .await?
        .ok_or(Error::Refused(Refusal::UnknownRequest(id)))?;
    if row.status != RequestStatus::Open {
        return Err(Error::Invalid(format!(
            "erasure request {id} is {} already",
            row.status
        )));
    }
    Ok(row)
}

/// Four eyes, by database login (the database enforces it too).
fn second_login(row: &requests::Current) -> Result<()> {
    if row.login == row.requested_login {
        return Err(Error::Refused(Refusal::FourEyes(row.login.clone())));
    }
    Ok(())
}

/// What an approval did.
#[derive(Debug, Serialize)]
pub struct Approved {
    /// The guest.
    pub guest_id: i64,
    /// Whether its fiscal data was erased as well (its fiscal deadline had passed).
    pub fiscal_erased: bool,
    /// Whether fiscal data stays until its own deadline.
    pub fiscal_kept: bool,
}

/// Approves a request: refused for the requester (four eyes) and while a
/// blocker stands; otherwise anonymizes the guest now.
#[tracing::instrument(skip_all, fields(request.id = id))]
pub async fn approve(
    client: &mut db::Object,
    id: i64,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<Approved> {
    let row = open_request(&*client, id).await?;
    second_login(&row)?;
    let blocking = blockers(&*client, row.guest_id, now).await?;
    if !blocking.is_empty() {
        return Err(Error::Failed(format!(
            "erasure request {id} cannot be approved yet: {}. Settle these first, or reject \
             the request with a reason",
            blocking.join("; ")
        )));
    }
    let tx = client.transaction().await?;
    let done = requests::approve(&tx, id, actor).await?;
    tx.commit().await?;
    Ok(Approved {
        guest_id: done.guest_id,
        fiscal_erased: done.fiscal_erased,
        fiscal_kept: done.fiscal_kept,
    })
}

/// Rejects a request; the guest's data stays as it is.
#[tracing::instrument(skip_all, fields(request.id = id))]
pub async fn reject(client: &mut db::Object, id: i64, reason: &str, actor: &str) -> Result<()> {
    if reason.trim().is_empty() {
        return Err(Error::Invalid(
            "--reason is empty: say why the request is rejected".into(),
        ));
    }
    let row = open_request(&*client, id).await?;
    second_login(&row)?;
    let tx = client.transaction().await?;
    requests::reject(&tx, id, reason, actor).await?;
    tx.commit().await?;
    Ok(())
}

/// The requester takes back its own open request: no decision, so four
/// eyes do not apply; only the login that asked may.
#[tracing::instrument(skip_all, fields(request.id = id))]
pub async fn withdraw(client: &mut db::Object, id: i64, actor: &str) -> Result<()> {
    let row = open_request(&*client, id).await?;
    if row.login != row.requested_login {
        return Err(Error::Refused(Refusal::NotRequester(row.login)));
    }
    let tx = client.transaction().await?;
    requests::withdraw(&tx, id, actor).await?;
    tx.commit().await?;
    Ok(())
}

/// Open requests (or all), oldest first, with their blockers.
pub async fn list(
    client: &impl GenericClient,
    all: bool,
    now: DateTime<Utc>,
) -> Result<Vec<Request>> {
    let rows = requests::list(client, all).await?;
    let open: Vec<i64> = rows
        .iter()
        .filter(|r| r.status == RequestStatus::Open)
        .map(|r| r.guest_id)
        .collect();
    let mut blocking = blockers_of(client, &open, now).await?;
    Ok(rows
        .into_iter()
        .map(|row| Request {
            blockers: if row.status == RequestStatus::Open {
                blocking.remove(&row.guest_id).unwrap_or_default()
            } else {
                Vec::new()
            },
            row,
        })
        .collect())
}

/// Open requests of a branch older than `older_than`: (request id, days open).
pub async fn overdue(
    client: &impl GenericClient,
    branch_id: i64,
    now: DateTime<Utc>,
    older_than: std::time::Duration,
) -> Result<Vec<(i64, i64)>> {
    let limit = now - chrono::Duration::from_std(older_than).unwrap_or(chrono::Duration::days(14));
    Ok(requests::open_since(client, branch_id, limit)
        .await?
        .into_iter()
        .map(|(id, at)| (id, (now - at).num_days()))
        .collect())
}
