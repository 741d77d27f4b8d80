//! The only code that decides *when*: `retentiond serve` waits for the
//! database, then lets tokio-cron-scheduler drive a UTC tick; each tick runs
//! the nights that are due ([`night`]), queues the pending summaries that
//! are due ([`summary`]) and drains the outbox. SIGHUP reloads the settings.
//! SIGTERM/SIGINT: no new batch starts; a statement still running after a
//! short grace is cancelled and its batch rolls back; the run is recorded as
//! interrupted, and the process exits.

mod endpoint;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::signal::unix::{signal, SignalKind};

use tokio::sync::mpsc;
use tokio_cron_scheduler::{Job, JobScheduler};

use crate::error::{Error, Result};
use crate::notify::sender::{self, FlushScope};
use crate::notify::transport::Transport;
use crate::notify::Notifier;
use crate::retention::ledger::sync as ledger;
use crate::retention::run::{LogLines, Progress};
use crate::retention::{night, summary, Context};
use crate::sd_notify;
use crate::settings::Settings;

/// What the daemon works with; replaced as a whole on SIGHUP.
struct State {
    cx: Context,
    notifier: Arc<Notifier>,
    transport: Transport,
}

impl State {
    /// Templates and transport are checked before anything else happens.
    fn new(cx: Context) -> Result<State> {
        Ok(State {
            notifier: Arc::new(Notifier::from_settings(&cx.settings)?),
            transport: Transport::from_settings(&cx.settings.mail)?,
            cx,
        })
    }

    fn settings(&self) -> &Settings {
        &self.cx.settings
    }
}

/// Runs the daemon until the context's stop fires. `config` is the
/// settings file that SIGHUP re-reads.
pub async fn serve(cx: Context, config: Option<PathBuf>) -> Result<()> {
    let systemd = sd_notify::Notifier::from_env();
    let watchdog = sd_notify::watchdog_interval().map_err(Error::Invalid)?;
    // Listen for SIGHUP at once: its default action would end the process.
    let mut hup =
        signal(SignalKind::hangup()).map_err(|e| Error::io("cannot listen for SIGHUP", e))?;
    let cancel = cx.stop.clone();
    let progress = Arc::new(Heartbeat::default());
    let mut state = State::new(cx.with_progress(progress.clone()))?;
    // the endpoint answers from the start: a scrape sees retentiond_ready 0
    // while the daemon waits for the database
    if let Some(addr) = state.settings().metrics.listen {
        let listener = endpoint::bind(addr).await?;
        tokio::spawn(endpoint::serve(listener, state.cx.clone()));
    }
    systemd.status("waiting for the database");
    if !wait_for_database(&state.cx, &systemd).await? {
        systemd.stopping();
        return Ok(());
    }
    // a ledger that cannot be written, or of another database: exit 2
    crate::retention::ledger::sync::check_at_start(&state.cx).await?;
    crate::metrics::global().set_ready(true);
    let status = status_line(&state).await;
    systemd.ready(&status);
    log_next_runs(&state).await;

    // The scheduler only nudges the loop; a tick that comes while a run is
    // going is dropped (capacity 1), the next one catches up.
    let (tx, mut rx) = mpsc::channel::<()>(1);
    let (mut scheduler, mut job) = start_scheduler(&state, &tx).await?;
    // The first tick at start-up: a night whose window is open now runs,
    // and a pending summary due today is queued.
    let _ = tx.try_send(());

    // Heartbeats prove progress: the idle loop answers its timer, and while
    // a tick works, a heartbeat goes out only when a batch or a step of the
    // tick finished since the last one. A hung statement or a half-open
    // connection stops them, and systemd restarts the daemon.
    let mut heartbeat = tokio::time::interval(watchdog.unwrap_or(Duration::from_secs(3600)));
    loop {
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = heartbeat.tick() => systemd.watchdog(),
            Some(()) = hup.recv() => {
                systemd.reloading();
                let old_tick = state.settings().schedule.tick;
                reload(&mut state, config.as_deref());
                if state.settings().schedule.tick != old_tick {
                    let _ = scheduler.remove(&job).await;
                    job = add_tick_job(&scheduler, state.settings().schedule.tick, &tx).await?;
                }
                let status = status_line(&state).await;
                systemd.ready(&status);
            }
            Some(()) = rx.recv() => {
                watched_tick(&state, &progress, &mut heartbeat, &systemd).await;
                if !cancel.is_cancelled() {
                    systemd.status(&status_line(&state).await);
                }
            }
        }
    }
    crate::metrics::global().set_ready(false);
    systemd.stopping();
    let _ = tokio::time::timeout(Duration::from_secs(1), scheduler.shutdown()).await;
    tracing::info!("daemon stopped");
    Ok(())
}

/// Starts tokio-cron-scheduler with the tick job.
async fn start_scheduler(
    state: &State,
    tx: &mpsc::Sender<()>,
) -> Result<(JobScheduler, uuid::Uuid)> {
    let scheduler = JobScheduler::new()
        .await
        .map_err(|e| Error::cause("cannot start the scheduler", e))?;
    let job = add_tick_job(&scheduler, state.settings().schedule.tick, tx).await?;
    scheduler
        .start()
        .await
        .map_err(|e| Error::cause("cannot start the scheduler", e))?;
    tracing::info!(
        tick = %humantime::format_duration(state.settings().schedule.tick),
        nightly_at = %state.settings().schedule.nightly_at.format("%H:%M"),
        "daemon started"
    );
    Ok((scheduler, job))
}

/// Runs one tick; meanwhile a heartbeat goes out only when a batch or a
/// step finished since the last one. A stop gives the tick a grace, then
/// leaves it (the run has cancelled its statement; a session still going
/// ends with the process).
async fn watched_tick(
    state: &State,
    progress: &Heartbeat,
    heartbeat: &mut tokio::time::Interval,
    systemd: &sd_notify::Notifier,
) {
    let work = tick(state, progress);
    tokio::pin!(work);
    let mut seen = progress.count();
    loop {
        tokio::select! {
            _ = &mut work => break,
            _ = heartbeat.tick() => {
                let now = progress.count();
                if now != seen {
                    seen = now;
                    systemd.watchdog();
                }
            }
            _ = state.cx.stop.cancelled() => {
                if tokio::time::timeout(STOP_GRACE, &mut work).await.is_err() {
                    tracing::warn!("the tick did not stop in time; leaving it");
                }
                break;
            }
        }
    }
}

/// How long a stop waits for the work in hand before leaving it (the unit's
/// `TimeoutStopSec=` is well above it).
const STOP_GRACE: Duration = Duration::from_secs(4);

/// Counts the progress of a tick (batches, finished steps) for the watchdog,
/// and writes the run's progress lines.
#[derive(Default)]
struct Heartbeat {
    steps: Arc<AtomicU64>,
    lines: LogLines,
}

impl Heartbeat {
    fn count(&self) -> u64 {
        self.steps.load(Ordering::Relaxed)
    }

    fn step(&self) {
        self.steps.fetch_add(1, Ordering::Relaxed);
    }
}

impl Progress for Heartbeat {
    fn start(&self, total: u64) {
        self.step();
        self.lines.start(total);
    }
    fn batch(&self, done: u64, total: u64) {
        self.step();
        self.lines.batch(done, total);
    }
    fn finish(&self) {
        self.step();
        self.lines.finish();
    }
}

async fn add_tick_job(
    scheduler: &JobScheduler,
    every: Duration,
    tx: &mpsc::Sender<()>,
) -> Result<uuid::Uuid> {
    let tick_tx = tx.clone();
    let job = Job::new_repeated_async(every, move |_, _| {
        let tx = tick_tx.clone();
        Box::pin(async move {
            let _ = tx.try_send(());
        })
    })
    .map_err(|e| Error::cause("cannot create the tick job", e))?;
    scheduler
        .add(job)
        .await
        .map_err(|e| Error::cause("cannot add the tick job", e))
}

/// One tick: due nights, due pending summaries, then the outbox.
#[tracing::instrument(skip_all)]
async fn tick(state: &State, progress: &Heartbeat) {
    let cx = &state.cx;
    // before the nights: a restore found, the erasures it lost applied again
    ledger::daemon_step(cx, cx.settings.ledger.auto_replay).await;
    progress.step();
    if cx.stop.is_cancelled() {
        return;
    }
    match night::run_due_nights(cx, Some(&state.notifier)).await {
        Ok(reports) if !reports.is_empty() => log_next_runs(state).await,
        Ok(_) => {}
        Err(e) => tracing::error!(error = %e, "tick failed; retrying at the next tick"),
    }
    progress.step();
    if cx.stop.is_cancelled() {
        return;
    }
    if let Err(e) = summary::queue_due(cx, &state.notifier).await {
        tracing::error!(error = %e, "pending summaries failed; retrying at the next tick");
    }
    progress.step();
    let scope = FlushScope {
        stop: cx.stop.clone(),
        progress: Some(progress.steps.clone()),
        ..FlushScope::default()
    };
    let flushed = sender::flush(
        &cx.pool,
        &cx.settings.mail,
        &state.transport,
        cx.clock.as_ref(),
        &scope,
    )
    .await;
    if let Err(e) = flushed {
        tracing::warn!(error = %e, "outbox not drained; retrying at the next tick");
    }
    // the seals of this tick's work
    ledger::daemon_step(cx, false).await;
}

/// SIGHUP: re-reads the settings; invalid ones are rejected and the old
/// ones kept.
fn reload(state: &mut State, config: Option<&Path>) {
    let new = match Settings::load(config).and_then(|s| {
        let old = state.settings();
        let database_changed =
            s.database.url != old.database.url || s.database.pool_size != old.database.pool_size;
        let cx = if database_changed {
            Context::new(s, state.cx.clock.clone())?
                .with_stop(state.cx.stop.clone())
                .with_progress(state.cx.progress.clone())
        } else {
            Context {
                settings: Arc::new(s),
                ..state.cx.clone()
            }
        };
        State::new(cx)
    }) {
        Ok(new) => new,
        Err(e) => {
            tracing::error!("settings not reloaded, the previous ones stay in force: {e}");
            return;
        }
    };
    let (new_settings, old_settings) = (new.settings(), state.settings());
    if new_settings.log.level != old_settings.log.level
        || new_settings.log.format != old_settings.log.format
    {
        tracing::warn!("log settings take effect at the next restart");
    }
    if new_settings.metrics.listen != old_settings.metrics.listen {
        tracing::warn!("metrics.listen takes effect at the next restart");
    }
    *state = new;
    tracing::info!("settings reloaded");
}

/// `next run at … (branch N)` for systemctl status.
async fn status_line(state: &State) -> String {
    match night::next_runs(&state.cx).await {
        Ok(next) => match next
            .iter()
            .min_by_key(|n| n.at)
            .map(|n| (n.branch_id, n.at))
        {
            Some((branch, at)) => format!(
                "next run at {} (branch {branch})",
                at.format("%Y-%m-%d %H:%M UTC")
            ),
            None => "idle: no branch has automatic deletion on".to_string(),
        },
        Err(e) => format!("cannot read the schedule: {e}"),
    }
}

/// Waits until the database is reachable and its schema matches this
/// binary, saying why in systemd's STATUS line: an outage is waited out,
/// and so is a schema that `retentiond migrate` has yet to upgrade (after a
/// package upgrade), instead of exiting into a restart loop. systemd's
/// start timeout bounds the wait.
async fn wait_for_database(cx: &Context, systemd: &sd_notify::Notifier) -> Result<bool> {
    let mut delay = Duration::from_secs(1);
    loop {
        match cx.client().await {
            Ok(_) => return Ok(true),
            Err(e @ Error::Schema(_)) => {
                tracing::error!(error = %e, retry_in = ?delay, "schema does not match; waiting for `retentiond migrate`");
                systemd.status(&format!("waiting for `retentiond migrate`: {e}"));
            }
            Err(e) => {
                tracing::warn!(error = %e, retry_in = ?delay, "database not reachable; waiting");
                systemd.status(&format!("waiting for the database: {e}"));
            }
        }
        tokio::select! {
            _ = cx.stop.cancelled() => return Ok(false),
            _ = tokio::time::sleep(delay) => {}
        }
        delay = (delay * 2).min(Duration::from_secs(60));
    }
}

async fn log_next_runs(state: &State) {
    match night::next_runs(&state.cx).await {
        Ok(next) if next.is_empty() => {
            tracing::info!("no branch has automatic deletion on; nothing is scheduled")
        }
        Ok(next) => {
            for n in next {
                tracing::info!(branch.id = n.branch_id, next_run = %n.at.to_rfc3339(), "next nightly run");
            }
        }
        Err(e) => tracing::warn!(error = %e, "cannot list the next runs"),
    }
}
