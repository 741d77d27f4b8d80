//! `retention.legal_holds`: guests and branches no run or erasure may
//! anonymize until released.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use super::GenericClient;
use crate::error::Result;

/// A hold as listed.
#[derive(Debug, Serialize)]
pub struct Hold {
    /// Its id.
    pub id: i64,
    /// The guest it holds (or none: a branch).
    pub guest_id: Option<i64>,
    /// The branch it holds (or none: a guest).
    pub branch_id: Option<i64>,
    /// The case it belongs to.
    pub reason: String,
    /// The date after which someone must release or renew it.
    pub until: Option<NaiveDate>,
    /// Who placed it (the label given).
    pub placed_by: String,
    /// The database login that placed it.
    pub placed_login: String,
    /// When.
    pub placed_at: DateTime<Utc>,
    /// Who released it.
    pub released_by: Option<String>,
    /// The database login that released it.
    pub released_login: Option<String>,
    /// When.
    pub released_at: Option<DateTime<Utc>>,
}

/// Places a hold (`retention_api.hold_place`, which writes `hold_placed`).
pub async fn place(
    client: &impl GenericClient,
    guest_id: Option<i64>,
    branch_id: Option<i64>,
    reason: &str,
    until: Option<NaiveDate>,
    actor: &str,
) -> Result<i64> {
    Ok(query!("hold_place")
        .one(client, &[&guest_id, &branch_id, &reason, &until, &actor])
        .await?
        .get(0))
}

/// Releases a hold (`retention_api.hold_release`, which writes `hold_released`).
pub async fn release(client: &impl GenericClient, id: i64, actor: &str) -> Result<()> {
    query!("hold_release").exec(client, &[&id, &actor]).await?;
    Ok(())
}

/// Holds in force, or all, newest first.
pub async fn list(client: &impl GenericClient, all: bool) -> Result<Vec<Hold>> {
    Ok(query!("hold_list")
        .all(client, &[&all])
        .await?
        .iter()
        .map(|r| Hold {
            id: r.get("id"),
            guest_id: r.get("guest_id"),
            branch_id: r.get("branch_id"),
            reason: r.get("reason"),
            until: r.get("until"),
            placed_by: r.get("placed_by"),
            placed_login: r.get("placed_login"),
            placed_at: r.get("placed_at"),
            released_by: r.get("released_by"),
            released_login: r.get("released_login"),
            released_at: r.get("released_at"),
        })
        .collect())
}

/// A hold in force past its date.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Expired {
    /// The hold.
    pub id: i64,
    /// Its guest, if it holds one.
    pub guest_id: Option<i64>,
    /// Its branch (the guest's for a guest's hold).
    pub branch_id: Option<i64>,
    /// The date that passed.
    pub until: NaiveDate,
}

/// Holds in force whose date has passed at `now`, in their branch's time zone.
pub async fn expired(client: &impl GenericClient, now: DateTime<Utc>) -> Result<Vec<Expired>> {
    Ok(query!("hold_expired")
        .all(client, &[&now])
        .await?
        .iter()
        .map(|r| Expired {
            id: r.get("id"),
            guest_id: r.get("guest_id"),
            branch_id: r.get("branch_id"),
            until: r.get("until"),
        })
        .collect())
}
