//! `public.branches` and `retention.branch_settings`.

use serde::Serialize;

use super::{parsed_opt, GenericClient};
use crate::error::Result;
use crate::model::Locale;

/// A branch's name, if the branch exists.
pub async fn name(client: &impl GenericClient, branch_id: i64) -> Result<Option<String>> {
    Ok(query!("branch_name")
        .opt(client, &[&branch_id])
        .await?
        .map(|r| r.get(0)))
}

/// The settings of one branch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BranchSettings {
    /// Branch.
    pub branch_id: i64,
    /// Branch name.
    pub branch_name: String,
    /// IANA time zone of the branch.
    pub time_zone: String,
    /// Nightly runs process this branch.
    pub auto_delete: bool,
    /// Who gets the branch's mails.
    pub notify_addresses: Vec<String>,
    /// Send the pending summary.
    pub notify_pending: bool,
    /// Send the completed summary.
    pub notify_completed: bool,
    /// Mail language for this branch (`de`/`en`); the global setting when unset.
    pub locale: Option<Locale>,
}

/// The settings of every branch (or one), defaults where never set.
pub async fn list_settings(
    client: &impl GenericClient,
    branch_id: Option<i64>,
) -> Result<Vec<BranchSettings>> {
    let rows = query!("list_branch_settings")
        .all(client, &[&branch_id])
        .await?;
    rows.iter()
        .map(|r| {
            Ok(BranchSettings {
                branch_id: r.get("branch_id"),
                branch_name: r.get("branch_name"),
                time_zone: r.get("time_zone"),
                auto_delete: r.get("auto_delete"),
                notify_addresses: r.get("notify_addresses"),
                notify_pending: r.get("notify_pending"),
                notify_completed: r.get("notify_completed"),
                locale: parsed_opt(r, "locale")?,
            })
        })
        .collect::<Result<Vec<_>>>()
}

/// Creates the branch's settings row if it has none and locks it, in the
/// caller's transaction.
pub async fn lock_settings(client: &impl GenericClient, branch_id: i64, actor: &str) -> Result<()> {
    query!("branch_settings_lock")
        .exec(client, &[&branch_id, &actor])
        .await?;
    Ok(())
}

/// Stores a branch's settings and writes `settings_changed` with `changes`
/// (`retention_api.branch_settings_store`).
pub async fn store_settings(
    client: &impl GenericClient,
    s: &BranchSettings,
    actor: &str,
    changes: &serde_json::Value,
) -> Result<()> {
    query!("branch_settings_store")
        .exec(
            client,
            &[
                &s.branch_id,
                &s.auto_delete,
                &s.notify_addresses,
                &s.notify_pending,
                &s.notify_completed,
                &s.locale.map(Locale::as_str),
                &actor,
                changes,
            ],
        )
        .await?;
    Ok(())
}

/// Branches whose time zone PostgreSQL does not know: (branch, zone).
pub async fn invalid_time_zones(client: &impl GenericClient) -> Result<Vec<(i64, String)>> {
    Ok(query!("branch_invalid_time_zones")
        .all(client, &[])
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect())
}
