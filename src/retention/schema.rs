//! The database's schema and its logins: `migrate` (the numbered
//! migrations and the rules, sql/) and `grant` (what a login may do).

use super::context::Context;
use crate::db::{self, migrate};
use crate::error::Result;

pub use migrate::MigrateReport;

/// Applies the pending migrations and, where they changed, the rules.
/// Works on a database of any version up to this binary's.
pub async fn migrate(cx: &Context) -> Result<MigrateReport> {
    let mut client = cx.raw_client().await?;
    migrate::run(&mut client, &cx.settings.database.owner_role).await
}

/// Gives the login `role` what retentiond's daemon and commands need
/// (`retention.grant_runtime`), and no ownership.
pub async fn grant(cx: &Context, role: &str) -> Result<()> {
    let mut client = cx.client().await?;
    db::roles::grant_runtime(&mut client, role, &cx.settings.database.owner_role).await
}
