//! Database access: the connection pool and the embedded migrations.

pub mod migrate;

use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::NoTls;

use crate::error::{Error, Result};
use crate::settings::DatabaseSettings;

/// A pool of connections to the guest database.
pub type DbPool = Pool;

/// Builds the pool. No connection is opened until one is needed.
pub fn connect_pool(settings: &DatabaseSettings) -> Result<DbPool> {
    let mut config = settings.config.clone();
    config.application_name("retentiond");
    config.connect_timeout(settings.connect_timeout);
    // Server notices ("already exists, skipping") are not worth a log line.
    config.options("-c client_min_messages=warning");
    let manager = Manager::from_config(
        config,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(settings.pool_size)
        .runtime(Runtime::Tokio1)
        .wait_timeout(Some(settings.connect_timeout))
        .create_timeout(Some(settings.connect_timeout))
        .recycle_timeout(Some(Duration::from_secs(5)))
        .build()
        .map_err(|e| Error::Failed(format!("cannot build the database pool: {e}")))
}

/// Takes a connection and checks that the schema matches this binary.
pub async fn connect_checked(pool: &DbPool) -> Result<deadpool_postgres::Object> {
    let client = pool.get().await?;
    migrate::ensure_current(&client).await?;
    Ok(client)
}
