//! The one value the core's work travels with: the pool, the settings, the
//! clock, where progress goes and the signal to stop. The edges build it
//! once (a command, the daemon's settings generation) and pass it down.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use super::run::{Progress, Silent};
use crate::clock::Clock;
use crate::db::{self, Object};
use crate::error::Result;
use crate::settings::Settings;

/// A pool of connections to the guest database.
pub type Pool = db::DbPool;

/// What the core works with. Cheap to clone.
#[derive(Clone)]
pub struct Context {
    /// The database pool (no connection is opened until one is needed).
    pub pool: Pool,
    /// The validated settings.
    pub settings: Arc<Settings>,
    /// The source of "now".
    pub clock: Arc<dyn Clock>,
    /// Where a run reports its batches.
    pub progress: Arc<dyn Progress>,
    /// Fires when the process is asked to stop: no new batch starts and a
    /// running statement is cancelled after a short grace.
    pub stop: CancellationToken,
}

impl Context {
    /// A context on a new pool for `settings`, without progress output and
    /// with a stop signal of its own.
    pub fn new(settings: Settings, clock: Arc<dyn Clock>) -> Result<Context> {
        Ok(Context {
            pool: db::connect_pool(&settings.database)?,
            settings: Arc::new(settings),
            clock,
            progress: Arc::new(Silent),
            stop: CancellationToken::new(),
        })
    }

    /// The same context reporting progress to `progress`.
    pub fn with_progress(mut self, progress: Arc<dyn Progress>) -> Context {
        self.progress = progress;
        self
    }

    /// The same context stopping when `stop` fires.
    pub fn with_stop(mut self, stop: CancellationToken) -> Context {
        self.stop = stop;
        self
    }

    /// Now, by the context's clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// A connection whose schema matches this binary.
    pub async fn client(&self) -> Result<Object> {
        db::connect_checked(&self.pool).await
    }

    /// A connection, without checking the schema (`migrate`, `status`).
    pub async fn raw_client(&self) -> Result<Object> {
        Ok(self.pool.get().await?)
    }
}
