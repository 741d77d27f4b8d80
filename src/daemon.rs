//! `retentiond serve`: waits for the database, then lets tokio-cron-scheduler
//! drive a UTC tick; each tick asks [`crate::run::schedule::tick`] which
//! branches' nights are due. SIGTERM/SIGINT: the current batch commits, no
//! new one starts, the run is recorded as interrupted, the process exits.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_cron_scheduler::{Job, JobScheduler};
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::db::{self, DbPool};
use crate::error::{Error, Result};
use crate::notify::sender::{self, FlushScope};
use crate::notify::transport::Transport;
use crate::notify::{self, Notifier};
use crate::run::schedule;
use crate::settings::Settings;

/// Runs the daemon until `cancel` fires.
pub async fn serve(
    settings: Settings,
    clock: Arc<dyn Clock>,
    cancel: CancellationToken,
) -> Result<()> {
    let pool = db::connect_pool(&settings.database)?;
    // Templates and transport are checked before anything else happens.
    let notifier = Arc::new(Notifier::from_settings(&settings)?);
    let transport = Transport::from_settings(&settings.mail)?;
    if !wait_for_database(&pool, &cancel).await? {
        return Ok(());
    }
    log_next_runs(&pool, &settings, clock.as_ref()).await;

    // The scheduler only nudges the loop; a tick that comes while a run is
    // going is dropped (capacity 1), the next one catches up.
    let (tx, mut rx) = mpsc::channel::<()>(1);
    let scheduler = JobScheduler::new()
        .await
        .map_err(|e| Error::Failed(format!("cannot start the scheduler: {e}")))?;
    let tick_tx = tx.clone();
    let job = Job::new_repeated_async(settings.schedule.tick, move |_, _| {
        let tx = tick_tx.clone();
        Box::pin(async move {
            let _ = tx.try_send(());
        })
    })
    .map_err(|e| Error::Failed(format!("cannot create the tick job: {e}")))?;
    scheduler
        .add(job)
        .await
        .map_err(|e| Error::Failed(format!("cannot add the tick job: {e}")))?;
    scheduler
        .start()
        .await
        .map_err(|e| Error::Failed(format!("cannot start the scheduler: {e}")))?;
    tracing::info!(
        tick = %humantime::format_duration(settings.schedule.tick),
        nightly_at = %settings.schedule.nightly_at.format("%H:%M"),
        "daemon started"
    );
    // The first tick at start-up catches up a missed night.
    let _ = tx.try_send(());

    let progress = crate::run::LogLines::new();
    loop {
        tokio::select! {
            _ = cancel.cancelled() => break,
            Some(()) = rx.recv() => {
                let ticked = schedule::tick(
                    &pool, &settings, Some(&notifier), clock.as_ref(), &progress, &cancel,
                )
                .await;
                match ticked {
                    Ok(reports) if !reports.is_empty() => {
                        log_next_runs(&pool, &settings, clock.as_ref()).await;
                    }
                    Ok(_) => {}
                    Err(e) => tracing::error!(error = %e, "tick failed; retrying at the next tick"),
                }
                if cancel.is_cancelled() {
                    break;
                }
                if let Err(e) = notify::pending_tick(&pool, &settings, &notifier, clock.as_ref()).await {
                    tracing::error!(error = %e, "pending summaries failed; retrying at the next tick");
                }
                let scope = FlushScope::default();
                if let Err(e) = sender::flush(&pool, &settings.mail, &transport, clock.as_ref(), &scope).await {
                    tracing::warn!(error = %e, "outbox not drained; retrying at the next tick");
                }
            }
        }
    }
    let mut scheduler = scheduler;
    let _ = scheduler.shutdown().await;
    tracing::info!("daemon stopped");
    Ok(())
}

/// Waits until the database is reachable and its schema matches. A schema
/// mismatch is fatal (run `retentiond migrate`); an outage is waited out.
async fn wait_for_database(pool: &DbPool, cancel: &CancellationToken) -> Result<bool> {
    let mut delay = Duration::from_secs(1);
    loop {
        match db::connect_checked(pool).await {
            Ok(_) => return Ok(true),
            Err(e @ Error::Schema(_)) => return Err(e),
            Err(e) => {
                tracing::warn!(error = %e, retry_in = ?delay, "database not reachable; waiting");
            }
        }
        tokio::select! {
            _ = cancel.cancelled() => return Ok(false),
            _ = tokio::time::sleep(delay) => {}
        }
        delay = (delay * 2).min(Duration::from_secs(60));
    }
}

async fn log_next_runs(pool: &DbPool, settings: &Settings, clock: &dyn Clock) {
    match next_runs(pool, settings, clock).await {
        Ok(next) if next.is_empty() => {
            tracing::info!("no branch has automatic deletion on; nothing is scheduled")
        }
        Ok(next) => {
            for (branch_id, at) in next {
                tracing::info!(branch_id, next_run = %at.to_rfc3339(), "next nightly run");
            }
        }
        Err(e) => tracing::warn!(error = %e, "cannot list the next runs"),
    }
}

/// The next nightly instant of every branch with automatic deletion on.
pub async fn next_runs(
    pool: &DbPool,
    settings: &Settings,
    clock: &dyn Clock,
) -> Result<Vec<(i64, chrono::DateTime<chrono::Utc>)>> {
    let client = pool.get().await?;
    let now = clock.now();
    Ok(client
        .query(
            include_str!("../sql/queries/run_scheduled_branches.sql"),
            &[],
        )
        .await?
        .iter()
        .map(|r| {
            let branch_id: i64 = r.get(0);
            let tz = schedule::branch_time_zone(branch_id, r.get(1), settings.schedule.time_zone);
            (
                branch_id,
                schedule::next_instant(now, settings.schedule.nightly_at, tz).1,
            )
        })
        .collect())
}

/// SIGINT and SIGTERM end the run after the current batch.
pub fn stop_on_signals(cancel: CancellationToken) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
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
        tracing::info!("stop requested: finishing the current batch");
        cancel.cancel();
    })
}
