//! What the ledger (`src/ledger`) reads of the protocol's chain and the
//! approved erasures, and the two API functions it calls after a restore.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::GenericClient;
use crate::error::Result;

/// A seal as the database stores it.
#[derive(Debug, Clone)]
pub struct StoredSeal {
    /// Its position.
    pub pos: i64,
    /// The chain's hash after it.
    pub hash: Vec<u8>,
    /// The highest row id it covers.
    pub row_id: Option<i64>,
    /// The time of its oldest row.
    pub first_at: Option<DateTime<Utc>>,
}

/// This database as the ledger names it, and its clock.
#[derive(Debug, Clone)]
pub struct Place {
    /// The database's oid.
    pub oid: i64,
    /// Its name.
    pub name: String,
    /// The cluster's system identifier, when the login may read it.
    pub system_identifier: Option<String>,
    /// The database's now.
    pub now: DateTime<Utc>,
}

/// An approval found in the protocol, with the seal that covers it.
#[derive(Debug, Clone)]
pub struct Approval {
    /// The covering seal's position and hash.
    pub seal_pos: i64,
    /// Its hash.
    pub seal_hash: Vec<u8>,
    /// The approval's time.
    pub at: DateTime<Utc>,
    /// The request.
    pub request: Option<i64>,
    /// The guest.
    pub guest: Option<i64>,
    /// The login that asked.
    pub requested_login: Option<String>,
    /// The login that approved.
    pub approved_login: Option<String>,
    /// The guest's `created_at` now.
    pub guest_created_at: Option<DateTime<Utc>>,
}

impl Place {
    /// As the ledger writes it down.
    pub fn as_seen(&self) -> crate::retention::ledger::file::Place {
        crate::retention::ledger::file::Place {
            system_identifier: self.system_identifier.clone(),
            database_oid: u32::try_from(self.oid).ok(),
            database: Some(self.name.clone()),
        }
    }
}

/// Where we are.
pub async fn place(client: &impl GenericClient) -> Result<Place> {
    let row = query!("ledger_place").one(client, &[]).await?;
    // informative only: a login without the right reads no identifier
    let system_identifier = match query!("ledger_system_identifier").opt(client, &[]).await {
        Ok(row) => row.map(|r| r.get("id")),
        Err(_) => None,
    };
    Ok(Place {
        oid: row.get("oid"),
        name: row.get("name"),
        system_identifier,
        now: row.get("now"),
    })
}

/// The seals at these positions, by position.
pub async fn seals_at(
    client: &impl GenericClient,
    positions: &[i64],
) -> Result<HashMap<i64, StoredSeal>> {
    let rows = query!("ledger_seals_at").all(client, &[&positions]).await?;
    rows.iter()
        .map(|r| {
            let seal = StoredSeal {
                pos: r.try_get("pos")?,
                hash: r.try_get("seal")?,
                row_id: r.try_get("row_id")?,
                first_at: r.try_get("first_at")?,
            };
            Ok((seal.pos, seal))
        })
        .collect()
}

/// The newest seal.
pub async fn newest_seal(client: &impl GenericClient) -> Result<Option<StoredSeal>> {
    let row = query!("ledger_newest_seal").opt(client, &[]).await?;
    row.map(|r| {
        Ok(StoredSeal {
            pos: r.try_get("pos")?,
            hash: r.try_get("seal")?,
            row_id: r.try_get("row_id")?,
            first_at: r.try_get("first_at")?,
        })
    })
    .transpose()
}

/// The approvals sealed after `after` up to `upto`.
pub async fn approvals(
    client: &impl GenericClient,
    after: i64,
    upto: i64,
) -> Result<Vec<Approval>> {
    let rows = query!("ledger_approvals")
        .all(client, &[&after, &upto])
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Approval {
                seal_pos: r.try_get("pos")?,
                seal_hash: r.try_get("seal")?,
                at: r.try_get("at")?,
                request: r.try_get("request")?,
                guest: r.try_get("guest_id")?,
                requested_login: r.try_get("requested_login")?,
                approved_login: r.try_get("approved_login")?,
                guest_created_at: r.try_get("guest_created_at")?,
            })
        })
        .collect()
}

/// Records a restore (`restore_detected`).
pub async fn restore_detected(
    client: &impl GenericClient,
    missing: (i64, i64),
    last_seen: DateTime<Utc>,
    actor: &str,
) -> Result<()> {
    query!("ledger_restore_detected")
        .exec(client, &[&missing.0, &missing.1, &last_seen, &actor])
        .await?;
    Ok(())
}

/// A guest an erasure names, as the database holds it now.
#[derive(Debug, Clone, Copy)]
pub struct GuestLeft {
    /// Whether it exists.
    pub present: bool,
    /// Whether it still has personal data.
    pub personal: bool,
    /// When it was created.
    pub created_at: Option<DateTime<Utc>>,
}

/// Of these guests: what is left of each, by id.
pub async fn guests_left(
    client: &impl GenericClient,
    ids: &[i64],
) -> Result<HashMap<i64, GuestLeft>> {
    let rows = query!("ledger_guests_left").all(client, &[&ids]).await?;
    rows.iter()
        .map(|r| {
            let left = GuestLeft {
                present: r.try_get("present")?,
                personal: r.try_get("personal")?,
                created_at: r.try_get("created_at")?,
            };
            Ok((r.try_get("id")?, left))
        })
        .collect()
}

/// An erasure to apply again, as the ledger holds it.
pub struct Replay<'a> {
    /// The request.
    pub request: i64,
    /// The guest.
    pub guest: i64,
    /// The covering seal's position.
    pub seal_pos: i64,
    /// Its hash in hex.
    pub seal_hash: &'a str,
    /// The login that asked.
    pub requested_login: Option<&'a str>,
    /// The login that approved.
    pub approved_login: Option<&'a str>,
    /// When.
    pub decided_at: DateTime<Utc>,
}

/// Applies one erasure again (`retention_api.erasure_replay`); returns
/// what happened.
pub async fn replay(client: &impl GenericClient, r: &Replay<'_>, actor: &str) -> Result<String> {
    Ok(query!("ledger_erasure_replay")
        .one(
            client,
            &[
                &r.request,
                &r.guest,
                &r.seal_pos,
                &r.seal_hash,
                &r.requested_login,
                &r.approved_login,
                &r.decided_at,
                &actor,
            ],
        )
        .await?
        .try_get("outcome")?)
}

/// The newest restore the protocol records.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RestoreRow {
    /// The protocol row.
    pub row_id: i64,
    /// When it was found.
    pub at: DateTime<Utc>,
    /// The missing seals.
    pub missing_from: Option<i64>,
    /// The last of them.
    pub missing_to: Option<i64>,
    /// When the last of them was seen.
    pub last_seen: Option<DateTime<Utc>>,
    /// Guests overdue at that time and not anonymized now: brought back by
    /// the restore; the next run takes them.
    pub overdue_brought_back: i64,
}

/// The newest `restore_detected` row of the last 30 days, with the
/// overdue guests it brought back (of `branch`, or all).
pub async fn latest_restore(
    client: &impl GenericClient,
    branch: Option<i64>,
) -> Result<Option<RestoreRow>> {
    let row = query!("ledger_latest_restore")
        .opt(client, &[&branch])
        .await?;
    row.map(|r| {
        Ok(RestoreRow {
            row_id: r.try_get("id")?,
            at: r.try_get("at")?,
            missing_from: r.try_get("missing_from")?,
            missing_to: r.try_get("missing_to")?,
            last_seen: r.try_get("last_seen")?,
            overdue_brought_back: r.try_get("overdue")?,
        })
    })
    .transpose()
}

/// An `erasure_replayed` row as the protocol holds it.
#[derive(Debug, Clone)]
pub struct ReplayRow {
    /// The protocol row.
    pub row_id: i64,
    /// The request it names.
    pub request: Option<i64>,
    /// The guest.
    pub guest: Option<i64>,
    /// The position of the seal that covered the approval.
    pub seal_pos: Option<i64>,
    /// Its hash in hex.
    pub seal_hash: Option<String>,
}

/// The `erasure_replayed` rows.
pub async fn replays(client: &impl GenericClient) -> Result<Vec<ReplayRow>> {
    let rows = query!("ledger_replays").all(client, &[]).await?;
    rows.iter()
        .map(|r| {
            Ok(ReplayRow {
                row_id: r.try_get("id")?,
                request: r.try_get("request")?,
                guest: r.try_get("guest_id")?,
                seal_pos: r.try_get("seal_pos")?,
                seal_hash: r.try_get("seal")?,
            })
        })
        .collect()
}

/// A `restore_detected` row: (row id, login, missing from, missing to).
pub type RestoreRecord = (i64, Option<String>, Option<i64>, Option<i64>);

/// The `restore_detected` rows.
pub async fn restores(client: &impl GenericClient) -> Result<Vec<RestoreRecord>> {
    let rows = query!("ledger_restores").all(client, &[]).await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("id")?,
                r.try_get("login")?,
                r.try_get("missing_from")?,
                r.try_get("missing_to")?,
            ))
        })
        .collect()
}
