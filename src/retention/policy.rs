//! Retention periods per branch and guest type. There are no defaults: a
//! branch without its own period inherits its head office's, and a type with
//! no period anywhere is never anonymized.

use super::ensure_branch_exists;
use crate::db::{self, GenericClient};
use crate::error::{Error, Result};
use crate::model::GuestType;

pub use crate::db::policies::{EffectivePolicy, Source};

/// What a `policy set` or `policy unset` changed.
#[derive(Debug, PartialEq, Eq)]
pub enum Change {
    /// The period was stored; `old` is the branch's own previous period.
    Set {
        /// Previous own period.
        old: Option<String>,
        /// New period, as PostgreSQL normalises it.
        new: String,
    },
    /// The branch's own period was removed.
    Unset {
        /// Removed period.
        old: String,
    },
    /// Nothing changed.
    Unchanged,
}

/// Checks a period and returns it in PostgreSQL's normal form.
///
/// Rejects text that is no interval, zero and negative intervals, any
/// negative part (`'1 year -2 days'`), and anything under a day: a bare
/// number is read by PostgreSQL as seconds, which is never what was meant.
/// Periods are at most a hundred years: no record is kept longer, and
/// every deadline then stays within the dates PostgreSQL can hold.
pub async fn normalize_period(client: &impl GenericClient, period: &str) -> Result<String> {
    let Some(check) = db::policies::check_period(client, period).await? else {
        return Err(Error::Invalid(format!(
            "period {period:?} is not a valid PostgreSQL interval: expected e.g. '3 years', \
             '18 months' or '400 days'"
        )));
    };
    if !check.positive || check.has_negative_part {
        return Err(Error::Invalid(format!(
            "period {period:?} is zero or negative: a retention period must be a positive \
             interval such as '3 years'"
        )));
    }
    if !check.at_least_a_day {
        return Err(Error::Invalid(format!(
            "period {period:?} ({}) is shorter than one day: give a unit, such as \
             '30 days', '18 months' or '3 years'",
            check.normal
        )));
    }
    if !check.at_most_a_century {
        return Err(Error::Invalid(format!(
            "period {period:?} ({}) is longer than 100 years, the longest retention period \
             retentiond accepts",
            check.normal
        )));
    }
    Ok(check.normal)
}

/// Sets a branch's own period for a type, writing `policy_changed` in the same transaction.
#[tracing::instrument(skip_all, fields(branch.id = branch_id, guest.type = %guest_type))]
pub async fn set(
    client: &mut db::Object,
    branch_id: i64,
    guest_type: GuestType,
    period: &str,
    actor: &str,
) -> Result<Change> {
    let tx = client.transaction().await?;
    let change = apply(&tx, branch_id, guest_type, Edit::Set(period), actor).await?;
    tx.commit().await?;
    Ok(change)
}

/// A change of a branch's own period.
#[derive(Clone, Copy, Debug)]
pub enum Edit<'a> {
    /// Set it to this period.
    Set(&'a str),
    /// Remove it.
    Unset,
}

/// Applies `edit` in the caller's transaction (with its `policy_changed`
/// row); the caller commits, or rolls back for a what-if.
pub async fn apply(
    tx: &impl GenericClient,
    branch_id: i64,
    guest_type: GuestType,
    edit: Edit<'_>,
    actor: &str,
) -> Result<Change> {
    ensure_branch_exists(tx, branch_id).await?;
    match edit {
        Edit::Set(period) => {
            let new = normalize_period(tx, period).await?;
            let (old, changed) = db::policies::set(tx, branch_id, guest_type, &new, actor).await?;
            Ok(if changed {
                Change::Set { old, new }
            } else {
                Change::Unchanged
            })
        }
        Edit::Unset => Ok(
            match db::policies::unset(tx, branch_id, guest_type, actor).await? {
                Some(old) => Change::Unset { old },
                None => Change::Unchanged,
            },
        ),
    }
}

/// Removes a branch's own period for a type (it then inherits, or is not configured).
#[tracing::instrument(skip_all, fields(branch.id = branch_id, guest.type = %guest_type))]
pub async fn unset(
    client: &mut db::Object,
    branch_id: i64,
    guest_type: GuestType,
    actor: &str,
) -> Result<Change> {
    let tx = client.transaction().await?;
    let change = apply(&tx, branch_id, guest_type, Edit::Unset, actor).await?;
    tx.commit().await?;
    Ok(change)
}

/// The period in force for every branch (or one) and every type.
pub async fn effective(
    client: &impl GenericClient,
    branch_id: Option<i64>,
) -> Result<Vec<EffectivePolicy>> {
    if let Some(id) = branch_id {
        ensure_branch_exists(client, id).await?;
    }
    db::policies::effective(client, branch_id).await
}
