//! `retention.policies` and the periods in force (`retention.effective_policies`).

use serde::Serialize;

use super::{parsed, GenericClient};
use crate::error::Result;
use crate::model::GuestType;

/// How PostgreSQL reads a period (`check_period.sql`).
#[derive(Debug)]
pub struct PeriodCheck {
    /// Its normal form.
    pub normal: String,
    /// Greater than zero.
    pub positive: bool,
    /// Some part is negative (`'1 year -2 days'`).
    pub has_negative_part: bool,
    /// At least a day long.
    pub at_least_a_day: bool,
    /// At most a hundred years.
    pub at_most_a_century: bool,
}

/// Asks PostgreSQL how it reads `period`; `None` when it is no interval.
pub async fn check_period(
    client: &impl GenericClient,
    period: &str,
) -> Result<Option<PeriodCheck>> {
    match query!("check_period").one(client, &[&period]).await {
        Ok(row) => Ok(Some(PeriodCheck {
            normal: row.get("normal"),
            positive: row.get("positive"),
            has_negative_part: row.get("has_negative_part"),
            at_least_a_day: row.get("at_least_a_day"),
            at_most_a_century: row.get("at_most_a_century"),
        })),
        // class 22: data exception (invalid interval syntax, out of range)
        Err(e) if e.sql_state().is_some_and(|c| c.code().starts_with("22")) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Sets a branch's own period for a type (`retention_api.policy_set`, which
/// writes `policy_changed`): the period before, and whether it changed.
pub async fn set(
    client: &impl GenericClient,
    branch_id: i64,
    guest_type: GuestType,
    period: &str,
    actor: &str,
) -> Result<(Option<String>, bool)> {
    let row = query!("policy_set")
        .one(client, &[&branch_id, &guest_type.as_str(), &period, &actor])
        .await?;
    Ok((row.get("old"), row.get("changed")))
}

/// Removes a branch's own period (`retention_api.policy_unset`, which writes
/// `policy_changed`); returns it when there was one.
pub async fn unset(
    client: &impl GenericClient,
    branch_id: i64,
    guest_type: GuestType,
    actor: &str,
) -> Result<Option<String>> {
    Ok(query!("policy_unset")
        .one(client, &[&branch_id, &guest_type.as_str(), &actor])
        .await?
        .get(0))
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
#[derive(Clone, Debug, PartialEq, Serialize)]
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
    let rows = query!("list_effective_policies")
        .all(client, &[&branch_id])
        .await?;
    rows.iter()
        .map(|r| {
            let period: Option<String> = r.get("period");
            let inherited: Option<bool> = r.get("inherited");
            Ok(EffectivePolicy {
                branch_id: r.get("branch_id"),
                branch_name: r.get("branch_name"),
                guest_type: parsed(r, "guest_type")?,
                source: match (period.is_some(), inherited) {
                    (false, _) => Source::NotConfigured,
                    (true, Some(true)) => Source::Inherited,
                    (true, _) => Source::Own,
                },
                period,
                source_branch_id: r.get("source_branch_id"),
            })
        })
        .collect()
}
