//! SIGTERM and SIGINT become one cancellation token. Whoever works (the
//! daemon's loop, a run's batch loop) checks it between units of work: no
//! new batch starts. A statement still running after a short grace is
//! cancelled (`db::stoppable`), and its batch rolls back whole.

use tokio::signal::unix::{signal, SignalKind};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Listens for SIGINT and SIGTERM while it lives; the first one cancels the
/// token. Dropping it stops listening.
pub struct Shutdown {
    token: CancellationToken,
    listener: JoinHandle<()>,
}

impl Shutdown {
    /// Starts listening (inside a tokio runtime).
    pub fn on_signals() -> Shutdown {
        let token = CancellationToken::new();
        let cancel = token.clone();
        let listener = tokio::spawn(async move {
            let mut term = match signal(SignalKind::terminate()) {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot listen for SIGTERM");
                    return;
                }
            };
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            tracing::info!("stop requested: no new batch starts");
            cancel.cancel();
        });
        Shutdown { token, listener }
    }

    /// The token the signals cancel.
    pub fn token(&self) -> &CancellationToken {
        &self.token
    }
}

/// Runs `work`; once `stop` fires, lets it go on for at most `grace`, then
/// leaves it (`None`). Whatever it held is dropped with it: a transaction in
/// it rolls back when its session ends.
pub async fn bounded<T>(
    stop: &CancellationToken,
    grace: std::time::Duration,
    work: impl std::future::Future<Output = T>,
) -> Option<T> {
    tokio::pin!(work);
    tokio::select! {
        result = &mut work => return Some(result),
        _ = stop.cancelled() => {}
    }
    tokio::time::timeout(grace, &mut work).await.ok()
}

impl Drop for Shutdown {
    fn drop(&mut self) {
        self.listener.abort();
    }
}
