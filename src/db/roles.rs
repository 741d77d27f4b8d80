//! The runtime role: what retentiond's daemon and commands may do.

use super::GenericClient;
use crate::error::Result;

/// Gives a login role what retentiond's daemon and commands need, and no
/// ownership (`retention.grant_runtime`, sql/rules/api.sql), acting as the
/// owner role: nothing the owner role could have changed runs with the
/// rights of the login that runs `grant`.
pub async fn grant_runtime(client: &mut super::Object, role: &str, owner: &str) -> Result<()> {
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_catalog.set_config('role', $1, true)", &[&owner])
        .await?;
    query!("grant_runtime").exec(&tx, &[&role]).await?;
    tx.commit().await?;
    Ok(())
}
