//! Legal holds (GDPR Art. 17(3)(e)): a guest, or every guest of a branch,
//! that no run and no approved erasure anonymizes until the hold is
//! released. The classification names them blocked by `legal_hold`; the
//! reason names a case and never leaves the database in a mail.

use chrono::{DateTime, NaiveDate, Utc};

use super::{ensure_branch_exists, ensure_guest_exists};
use crate::db::{self, holds, GenericClient};
use crate::error::{Error, Result};

pub use holds::{Expired, Hold};

/// What to hold.
#[derive(Clone, Copy, Debug)]
pub enum Target {
    /// One guest.
    Guest(i64),
    /// Every guest of a branch.
    Branch(i64),
}

/// Places a hold; returns its id.
#[tracing::instrument(skip_all)]
pub async fn place(
    client: &mut db::Object,
    target: Target,
    reason: &str,
    until: Option<NaiveDate>,
    actor: &str,
    today: NaiveDate,
) -> Result<i64> {
    if reason.trim().is_empty() {
        return Err(Error::Invalid(
            "--reason is empty: name the case the hold belongs to (e.g. \"tax audit 2026/17\")"
                .into(),
        ));
    }
    if let Some(date) = until.filter(|d| *d < today) {
        return Err(Error::Invalid(format!(
            "--until {date} has passed already: give a date from today on"
        )));
    }
    let (guest, branch) = match target {
        Target::Guest(id) => {
            ensure_guest_exists(&*client, id).await?;
            (Some(id), None)
        }
        Target::Branch(id) => {
            ensure_branch_exists(&*client, id).await?;
            (None, Some(id))
        }
    };
    let tx = client.transaction().await?;
    let id = holds::place(&tx, guest, branch, reason, until, actor).await?;
    tx.commit().await?;
    Ok(id)
}

/// Releases a hold in force.
#[tracing::instrument(skip_all, fields(hold.id = id))]
pub async fn release(client: &mut db::Object, id: i64, actor: &str) -> Result<()> {
    match holds::list(&*client, true)
        .await?
        .iter()
        .find(|h| h.id == id)
    {
        None => {
            return Err(Error::Invalid(format!(
                "legal hold {id} does not exist: `retentiond hold list --all` lists them"
            )))
        }
        Some(h) if h.released_at.is_some() => {
            return Err(Error::Invalid(format!(
                "legal hold {id} is released already"
            )))
        }
        Some(_) => {}
    }
    let tx = client.transaction().await?;
    holds::release(&tx, id, actor).await?;
    tx.commit().await?;
    Ok(())
}

/// Holds in force (or all), newest first.
pub async fn list(client: &impl GenericClient, all: bool) -> Result<Vec<Hold>> {
    holds::list(client, all).await
}

/// Holds in force whose date has passed: `status` and the pending mail ask
/// someone to release or renew them.
pub async fn expired(client: &impl GenericClient, now: DateTime<Utc>) -> Result<Vec<Expired>> {
    holds::expired(client, now).await
}
