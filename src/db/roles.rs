//! The runtime role: what retentiond's daemon and commands may do.

use super::GenericClient;
use crate::error::Result;

/// Gives a login role what retentiond's daemon and commands need, and no
/// ownership (`retention.grant_runtime`, migration 11).
pub async fn grant_runtime(client: &impl GenericClient, role: &str) -> Result<()> {
    query!("grant_runtime").exec(client, &[&role]).await?;
    Ok(())
}
