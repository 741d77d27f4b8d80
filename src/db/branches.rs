//! `public.branches` and `retention.branch_settings`.

use serde::Serialize;

use super::GenericClient;
use crate::error::Result;

/// A branch's name, if the branch exists.
pub async fn name(client: &impl GenericClient, branch_id: i64) -> Result<Option<String>> {
    Ok(client
        .query_opt(query!("branch_name"), &[&branch_id])
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
    pub locale: Option<String>,
}

/// The settings of every branch (or one), defaults where never set.
pub async fn list_settings(
    client: &impl GenericClient,
    branch_id: Option<i64>,
) -> Result<Vec<BranchSettings>> {
    let rows = client
        .query(query!("list_branch_settings"), &[&branch_id])
        .await?;
    Ok(rows
        .iter()
        .map(|r| BranchSettings {
            branch_id: r.get("branch_id"),
            branch_name: r.get("branch_name"),
            time_zone: r.get("time_zone"),
            auto_delete: r.get("auto_delete"),
            notify_addresses: r.get("notify_addresses"),
            notify_pending: r.get("notify_pending"),
            notify_completed: r.get("notify_completed"),
            locale: r.get("locale"),
        })
        .collect())
}

/// Creates the branch's settings row if it has none and locks it, in the
/// caller's transaction.
pub async fn lock_settings(client: &impl GenericClient, branch_id: i64, actor: &str) -> Result<()> {
    client
        .execute(query!("branch_settings_ensure"), &[&branch_id, &actor])
        .await?;
    client
        .execute(query!("branch_settings_lock"), &[&branch_id])
        .await?;
    Ok(())
}

/// Stores a branch's settings.
pub async fn store_settings(
    client: &impl GenericClient,
    s: &BranchSettings,
    actor: &str,
) -> Result<()> {
    client
        .execute(
            query!("update_branch_settings"),
            &[
                &s.branch_id,
                &s.auto_delete,
                &s.notify_addresses,
                &s.notify_pending,
                &s.notify_completed,
                &s.locale,
                &actor,
            ],
        )
        .await?;
    Ok(())
}

/// Branches whose time zone PostgreSQL does not know: (branch, zone).
pub async fn invalid_time_zones(client: &impl GenericClient) -> Result<Vec<(i64, String)>> {
    Ok(client
        .query(query!("branch_invalid_time_zones"), &[])
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect())
}
