//! Erasure requests under the four-eyes principle: one admin requests (the
//! guest's newsletter ends at once), a second one approves (the guest is
//! anonymized now, by the run's own statement) or rejects. Unpaid invoices
//! and future reservations block approval.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use serde::Serialize;
use serde_json::json;

use crate::error::{Error, Result};
use crate::retention::{ensure_guest_exists, protocol};
use crate::run::{apply_locked, Apply};

/// An erasure request as listed.
#[derive(Debug, Serialize)]
pub struct Request {
    /// Request id.
    pub id: i64,
    /// The guest.
    pub guest_id: i64,
    /// The guest's branch.
    pub branch_id: i64,
    /// Why (the requester's note).
    pub reason: String,
    /// Who asked.
    pub requested_by: String,
    /// When.
    pub requested_at: DateTime<Utc>,
    /// `open`, `approved` or `rejected`.
    pub status: String,
    /// Who decided.
    pub decided_by: Option<String>,
    /// When.
    pub decided_at: Option<DateTime<Utc>>,
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
    let rows = client
        .query(
            include_str!("../../sql/queries/erasure_blockers.sql"),
            &[&guest_ids, &now],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|row| {
            let mut out = Vec::new();
            let unpaid: i64 = row.get("unpaid_invoices");
            if unpaid > 0 {
                out.push(format!("{unpaid} unpaid invoice(s)"));
            }
            let upcoming: i64 = row.get("upcoming_reservations");
            if upcoming > 0 {
                let next: DateTime<Utc> = row.get("next_reservation");
                out.push(format!(
                    "{upcoming} reservation(s) still to come (next {})",
                    next.format("%Y-%m-%d %H:%M UTC")
                ));
            }
            (row.get("guest_id"), out)
        })
        .collect())
}

/// Records a request and ends the guest's newsletter subscription, in one
/// transaction. Returns the request id.
pub async fn request(
    client: &mut deadpool_postgres::Object,
    guest_id: i64,
    reason: &str,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<i64> {
    if reason.trim().is_empty() {
        return Err(Error::Invalid(
            "--reason is empty: say why the guest asked (e.g. \"e-mail of 2026-11-20\")".into(),
        ));
    }
    ensure_guest_exists(&*client, guest_id).await?;
    let tx = client.transaction().await?;
    let guest = tx
        .query_one(
            "SELECT g.branch_id, g.anonymized_at IS NOT NULL AS anonymized, c.guest_type
             FROM public.guests g
             JOIN retention.guest_classification c ON c.guest_id = g.id
             WHERE g.id = $1 FOR UPDATE OF g",
            &[&guest_id],
        )
        .await?;
    if guest.get::<_, bool>("anonymized") {
        return Err(Error::Invalid(format!(
            "guest {guest_id} is anonymized already: there is nothing left to erase \
             (fiscal data of company guests goes at its own deadline)"
        )));
    }
    let branch_id: i64 = guest.get("branch_id");
    let guest_type: String = guest.get("guest_type");
    let row = tx
        .query_opt(
            "INSERT INTO retention.erasure_requests (guest_id, branch_id, reason, requested_by, requested_at)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (guest_id) WHERE status = 'open' DO NOTHING
             RETURNING id",
            &[&guest_id, &branch_id, &reason, &actor, &now],
        )
        .await?;
    let Some(row) = row else {
        return Err(Error::Invalid(format!(
            "guest {guest_id} has an open erasure request already: see `retentiond erasure list`"
        )));
    };
    let id: i64 = row.get(0);
    protocol::append(
        &tx,
        &protocol::Entry {
            actor,
            action: "erasure_requested",
            branch_id: Some(branch_id),
            guest_id: Some(guest_id),
            guest_type: Some(&guest_type),
            details: json!({"request_id": id, "requested_by": actor}),
            ..Default::default()
        },
    )
    .await?;
    // the guest gets no more mail from this moment on
    let ended = tx
        .execute(
            "UPDATE public.newsletter_subscriptions SET unsubscribed_at = $2
             WHERE guest_id = $1 AND unsubscribed_at IS NULL",
            &[&guest_id, &now],
        )
        .await?;
    if ended > 0 {
        protocol::append(
            &tx,
            &protocol::Entry {
                actor,
                action: "newsletter_unsubscribed",
                branch_id: Some(branch_id),
                guest_id: Some(guest_id),
                guest_type: Some(&guest_type),
                details: json!({"request_id": id}),
                ..Default::default()
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(id)
}

async fn open_request(client: &impl GenericClient, id: i64) -> Result<(i64, i64, String)> {
    let row = client
        .query_opt(
            "SELECT guest_id, branch_id, requested_by, status
             FROM retention.erasure_requests WHERE id = $1 FOR UPDATE",
            &[&id],
        )
        .await?
        .ok_or_else(|| {
            Error::Invalid(format!(
                "erasure request {id} does not exist: see `retentiond erasure list --all`"
            ))
        })?;
    let status: String = row.get("status");
    if status != "open" {
        return Err(Error::Invalid(format!(
            "erasure request {id} is {status} already"
        )));
    }
    Ok((row.get(0), row.get(1), row.get(2)))
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
pub async fn approve(
    client: &mut deadpool_postgres::Object,
    id: i64,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<Approved> {
    let tx = client.transaction().await?;
    let (guest_id, branch_id, requested_by) = open_request(&tx, id).await?;
    if requested_by == actor {
        return Err(Error::Invalid(format!(
            "four-eyes principle: {actor} requested this erasure and cannot approve it; \
             a second person must (--actor NAME)"
        )));
    }
    // lock the guest as a batch does, then check what blocks
    let locked: Vec<i64> = tx
        .query(
            include_str!("../../sql/queries/run_lock_guests.sql"),
            &[&vec![guest_id]],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    if locked.is_empty() {
        return Err(Error::Failed(format!(
            "guest {guest_id} is being changed right now (row locked); try again in a moment"
        )));
    }
    let blocking = blockers(&tx, guest_id, now).await?;
    if !blocking.is_empty() {
        return Err(Error::Failed(format!(
            "erasure request {id} cannot be approved yet: {}. Settle these first, or reject \
             the request with a reason",
            blocking.join("; ")
        )));
    }
    let applied = apply_locked(
        &tx,
        &locked,
        &Apply {
            cutoff: now,
            now,
            actor,
            run_id: None,
            forced: &locked,
            details: json!({"request_id": id, "requested_by": requested_by}),
        },
    )
    .await?;
    let fiscal_erased = applied
        .actions
        .iter()
        .any(|(a, _, _)| a == "fiscal_data_erased");
    let row = tx
        .query_one(
            "SELECT anonymized_at IS NOT NULL AS anonymized,
                    company IS NOT NULL AND fiscal_erased_at IS NULL AS fiscal_kept
             FROM public.guests WHERE id = $1",
            &[&guest_id],
        )
        .await?;
    if !row.get::<_, bool>("anonymized") {
        return Err(Error::Failed(format!(
            "guest {guest_id} could not be anonymized; nothing was changed"
        )));
    }
    tx.execute(
        "UPDATE retention.erasure_requests
         SET status = 'approved', decided_by = $2, decided_at = $3 WHERE id = $1",
        &[&id, &actor, &now],
    )
    .await?;
    protocol::append(
        &tx,
        &protocol::Entry {
            actor,
            action: "erasure_approved",
            branch_id: Some(branch_id),
            guest_id: Some(guest_id),
            details: json!({"request_id": id, "requested_by": requested_by, "approved_by": actor}),
            ..Default::default()
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Approved {
        guest_id,
        fiscal_erased,
        fiscal_kept: row.get("fiscal_kept"),
    })
}

/// Rejects a request; the guest's data stays as it is.
pub async fn reject(
    client: &mut deadpool_postgres::Object,
    id: i64,
    reason: &str,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    if reason.trim().is_empty() {
        return Err(Error::Invalid(
            "--reason is empty: say why the request is rejected".into(),
        ));
    }
    let tx = client.transaction().await?;
    let (guest_id, branch_id, requested_by) = open_request(&tx, id).await?;
    tx.execute(
        "UPDATE retention.erasure_requests
         SET status = 'rejected', decided_by = $2, decided_at = $3, decision_reason = $4
         WHERE id = $1",
        &[&id, &actor, &now, &reason],
    )
    .await?;
    protocol::append(
        &tx,
        &protocol::Entry {
            actor,
            action: "erasure_rejected",
            branch_id: Some(branch_id),
            guest_id: Some(guest_id),
            details: json!({"request_id": id, "requested_by": requested_by, "rejected_by": actor}),
            ..Default::default()
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Open requests (or all), oldest first, with their blockers.
pub async fn list(
    client: &impl GenericClient,
    all: bool,
    now: DateTime<Utc>,
) -> Result<Vec<Request>> {
    let rows = client
        .query(
            "SELECT id, guest_id, branch_id, reason, requested_by, requested_at, status,
                    decided_by, decided_at
             FROM retention.erasure_requests
             WHERE $1::boolean OR status = 'open'
             ORDER BY id",
            &[&all],
        )
        .await?;
    let open: Vec<i64> = rows
        .iter()
        .filter(|r| r.get::<_, String>("status") == "open")
        .map(|r| r.get("guest_id"))
        .collect();
    let mut blocking = blockers_of(client, &open, now).await?;
    Ok(rows
        .iter()
        .map(|r| {
            let guest_id: i64 = r.get("guest_id");
            let status: String = r.get("status");
            Request {
                id: r.get("id"),
                guest_id,
                branch_id: r.get("branch_id"),
                reason: r.get("reason"),
                requested_by: r.get("requested_by"),
                requested_at: r.get("requested_at"),
                blockers: if status == "open" {
                    blocking.remove(&guest_id).unwrap_or_default()
                } else {
                    Vec::new()
                },
                status,
                decided_by: r.get("decided_by"),
                decided_at: r.get("decided_at"),
            }
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
    Ok(client
        .query(
            "SELECT id, requested_at FROM retention.erasure_requests
             WHERE branch_id = $1 AND status = 'open' AND requested_at <= $2
             ORDER BY id",
            &[&branch_id, &limit],
        )
        .await?
        .iter()
        .map(|r| {
            let at: DateTime<Utc> = r.get(1);
            (r.get(0), (now - at).num_days())
        })
        .collect())
}
