//! Retention periods per branch and guest type. There are no defaults: a
//! branch without its own period inherits its head office's, and a type with
//! no period anywhere is never anonymized.

use deadpool_postgres::GenericClient;
use serde::Serialize;
use serde_json::json;
use tokio_postgres::error::SqlState;

use super::{ensure_branch_exists, protocol, GuestType};
use crate::error::{Error, Result};

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
pub async fn normalize_period(client: &impl GenericClient, period: &str) -> Result<String> {
    let row = client
        .query_one(
            include_str!("../../sql/queries/check_period.sql"),
            &[&period],
        )
        .await
        .map_err(|e| match e.code() {
            Some(code) if code.code().starts_with("22") => Error::Invalid(format!(
                "period {period:?} is not a valid PostgreSQL interval: expected e.g. '3 years', \
                 '18 months' or '400 days'"
            )),
            _ => Error::Db(e),
        })?;
    let normal: String = row.get("normal");
    let positive: bool = row.get("positive");
    let has_negative_part: bool = row.get("has_negative_part");
    let at_least_a_day: bool = row.get("at_least_a_day");
    if !positive || has_negative_part {
        return Err(Error::Invalid(format!(
            "period {period:?} is zero or negative: a retention period must be a positive \
             interval such as '3 years'"
        )));
    }
    if !at_least_a_day {
        return Err(Error::Invalid(format!(
            "period {period:?} ({normal}) is shorter than one day: give a unit, such as \
             '30 days', '18 months' or '3 years'"
        )));
    }
    Ok(normal)
}

/// Sets a branch's own period for a type, writing `policy_changed` in the same transaction.
#[tracing::instrument(skip_all, fields(branch.id = branch_id, guest.type = %guest_type))]
pub async fn set(
    client: &mut deadpool_postgres::Client,
    branch_id: i64,
    guest_type: GuestType,
    period: &str,
    actor: &str,
) -> Result<Change> {
    let tx = client.transaction().await?;
    ensure_branch_exists(&tx, branch_id).await?;
    let new = normalize_period(&tx, period).await?;
    let old: Option<String> = tx
        .query_opt(
            "SELECT period::text FROM retention.policies
             WHERE branch_id = $1 AND guest_type = $2 FOR UPDATE",
            &[&branch_id, &guest_type.as_str()],
        )
        .await?
        .map(|r| r.get(0));
    if old.as_deref() == Some(new.as_str()) {
        return Ok(Change::Unchanged);
    }
    tx.execute(
        include_str!("../../sql/queries/upsert_policy.sql"),
        &[&branch_id, &guest_type.as_str(), &new, &actor],
    )
    .await
    .map_err(|e| match e.code() {
        Some(&SqlState::CHECK_VIOLATION) => {
            Error::Invalid(format!("period {period:?} is not a positive interval"))
        }
        _ => Error::Db(e),
    })?;
    protocol::append(
        &tx,
        &protocol::Entry {
            actor,
            action: "policy_changed",
            branch_id: Some(branch_id),
            guest_type: Some(guest_type.as_str()),
            details: json!({ "old": old, "new": new }),
            ..Default::default()
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Change::Set { old, new })
}

/// Removes a branch's own period for a type (it then inherits, or is not configured).
#[tracing::instrument(skip_all, fields(branch.id = branch_id, guest.type = %guest_type))]
pub async fn unset(
    client: &mut deadpool_postgres::Client,
    branch_id: i64,
    guest_type: GuestType,
    actor: &str,
) -> Result<Change> {
    let tx = client.transaction().await?;
    ensure_branch_exists(&tx, branch_id).await?;
    let old: Option<String> = tx
        .query_opt(
            "DELETE FROM retention.policies WHERE branch_id = $1 AND guest_type = $2
             RETURNING period::text",
            &[&branch_id, &guest_type.as_str()],
        )
        .await?
        .map(|r| r.get(0));
    let Some(old) = old else {
        return Ok(Change::Unchanged);
    };
    protocol::append(
        &tx,
        &protocol::Entry {
            actor,
            action: "policy_changed",
            branch_id: Some(branch_id),
            guest_type: Some(guest_type.as_str()),
            details: json!({ "old": old, "new": null }),
            ..Default::default()
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Change::Unset { old })
}

/// Where a branch's period for a type comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// Set on the branch itself.
    Own,
    /// Inherited from an ancestor (the head office).
    Inherited,
    /// Set nowhere: this type is never anonymized in the branch.
    NotConfigured,
}

/// The period in force for one branch and type.
#[derive(Clone, Debug, Serialize)]
pub struct EffectivePolicy {
    /// Branch.
    pub branch_id: i64,
    /// Branch name.
    pub branch_name: String,
    /// Guest type.
    pub guest_type: GuestType,
    /// Period in force, if any.
    pub period: Option<String>,
    /// Own, inherited or not configured.
    pub source: Source,
    /// Branch the period was set on.
    pub source_branch_id: Option<i64>,
}

/// The period in force for every branch (or one) and every type.
pub async fn effective(
    client: &impl GenericClient,
    branch_id: Option<i64>,
) -> Result<Vec<EffectivePolicy>> {
    if let Some(id) = branch_id {
        ensure_branch_exists(client, id).await?;
    }
    let rows = client
        .query(
            include_str!("../../sql/queries/list_effective_policies.sql"),
            &[&branch_id],
        )
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let guest_type: String = r.get("guest_type");
        let period: Option<String> = r.get("period");
        let inherited: Option<bool> = r.get("inherited");
        out.push(EffectivePolicy {
            branch_id: r.get("branch_id"),
            branch_name: r.get("branch_name"),
            guest_type: guest_type.parse()?,
            source: match (period.is_some(), inherited) {
                (false, _) => Source::NotConfigured,
                (true, Some(true)) => Source::Inherited,
                (true, _) => Source::Own,
            },
            period,
            source_branch_id: r.get("source_branch_id"),
        });
    }
    Ok(out)
}
