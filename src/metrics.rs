//! The daemon's Prometheus metrics (OpenMetrics text, prometheus-client).
//! What the process sees itself (guests anonymized by its runs, batch
//! durations and lock holds, readiness) is counted as it happens; what the
//! database knows (each branch's last run, the newest pending snapshot, the
//! outbox) is read from small tables at each scrape, never from the guests.

use std::sync::atomic::AtomicU64;
use std::sync::OnceLock;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

use crate::db::metrics::Snapshot;
use crate::model::{Action, RunStatus};

/// A branch, as a label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BranchLabel {
    branch: String,
}

/// A branch and a run status, as labels.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabel {
    branch: String,
    status: String,
}

type FloatGauge = Gauge<f64, AtomicU64>;

/// Every metric, registered once per process.
pub struct Metrics {
    registry: Registry,
    anonymized: Family<BranchLabel, Counter>,
    unsubscribed: Family<BranchLabel, Counter>,
    fiscal_erased: Family<BranchLabel, Counter>,
    batch_seconds: Histogram,
    lock_hold_seconds: Histogram,
    ready: Gauge,
    runs_in_progress: Gauge,
    database_up: Gauge,
    last_run_end: Family<BranchLabel, FloatGauge>,
    last_run_duration: Family<BranchLabel, FloatGauge>,
    last_run_status: Family<StatusLabel, Gauge>,
    held: Family<BranchLabel, Gauge>,
    overdue: Family<BranchLabel, Gauge>,
    due_soon: Family<BranchLabel, Gauge>,
    outbox_queued: Gauge,
    outbox_given_up: Gauge,
}

static METRICS: OnceLock<Metrics> = OnceLock::new();

/// The process's metrics.
pub fn global() -> &'static Metrics {
    METRICS.get_or_init(Metrics::new)
}

impl Metrics {
    fn new() -> Metrics {
        let mut m = Metrics {
            registry: Registry::with_prefix("retentiond"),
            anonymized: Family::default(),
            unsubscribed: Family::default(),
            fiscal_erased: Family::default(),
            // 5 ms … 20 s
            batch_seconds: Histogram::new(exponential_buckets(0.005, 2.0, 13)),
            lock_hold_seconds: Histogram::new(exponential_buckets(0.005, 2.0, 13)),
            ready: Gauge::default(),
            runs_in_progress: Gauge::default(),
            database_up: Gauge::default(),
            last_run_end: Family::default(),
            last_run_duration: Family::default(),
            last_run_status: Family::default(),
            held: Family::default(),
            overdue: Family::default(),
            due_soon: Family::default(),
            outbox_queued: Gauge::default(),
            outbox_given_up: Gauge::default(),
        };
        // the registry keeps handles to the same metrics
        let r = &mut m.registry;
        r.register(
            "build",
            "The running version",
            Info::new(vec![("version", env!("CARGO_PKG_VERSION"))]),
        );
        r.register(
            "guests_anonymized",
            "Guests anonymized by this process's runs",
            m.anonymized.clone(),
        );
        r.register(
            "newsletter_unsubscriptions",
            "Newsletter subscriptions ended by this process's runs",
            m.unsubscribed.clone(),
        );
        r.register(
            "fiscal_erasures",
            "Company guests' fiscal data erased by this process's runs",
            m.fiscal_erased.clone(),
        );
        r.register(
            "batch_duration_seconds",
            "Wall time of one batch transaction",
            m.batch_seconds.clone(),
        );
        r.register(
            "batch_lock_hold_seconds",
            "How long a batch held its guests' row locks",
            m.lock_hold_seconds.clone(),
        );
        r.register(
            "ready",
            "1 once the database is reachable and its schema matches",
            m.ready.clone(),
        );
        r.register(
            "runs_in_progress",
            "Runs of this process going on now",
            m.runs_in_progress.clone(),
        );
        r.register(
            "database_up",
            "1 when the last scrape could read the database",
            m.database_up.clone(),
        );
        r.register(
            "last_run_end_timestamp_seconds",
            "End of the branch's newest run that has ended (Unix time)",
            m.last_run_end.clone(),
        );
        r.register(
            "last_run_duration_seconds",
            "Wall time of the branch's newest run that has ended",
            m.last_run_duration.clone(),
        );
        r.register(
            "last_run_status",
            "1 for the status of the branch's newest run that has ended",
            m.last_run_status.clone(),
        );
        r.register(
            "branch_held",
            "1 when the branch's newest run was held by the guard",
            m.held.clone(),
        );
        r.register(
            "guests_overdue",
            "Guests overdue at the branch's newest pending snapshot",
            m.overdue.clone(),
        );
        r.register(
            "guests_due_soon",
            "Guests due soon at the branch's newest pending snapshot",
            m.due_soon.clone(),
        );
        r.register(
            "outbox_queued",
            "Mails waiting to be delivered",
            m.outbox_queued.clone(),
        );
        r.register(
            "outbox_given_up",
            "Mails given up in the last 7 days",
            m.outbox_given_up.clone(),
        );
        m
    }

    /// One batch committed (or rolled back) after `took`, holding its row
    /// locks for `hold`.
    pub fn batch(&self, took: Duration, hold: Duration) {
        self.batch_seconds.observe(took.as_secs_f64());
        self.lock_hold_seconds.observe(hold.as_secs_f64());
    }

    /// Guests a run changed in a branch.
    pub fn changed(&self, branch_id: i64, action: Action, guests: i64) {
        let family = match action {
            Action::GuestAnonymized => &self.anonymized,
            Action::NewsletterUnsubscribed => &self.unsubscribed,
            Action::FiscalDataErased => &self.fiscal_erased,
            _ => return,
        };
        family
            .get_or_create(&branch(branch_id))
            .inc_by(guests.max(0) as u64);
    }

    /// Whether the daemon is ready.
    pub fn set_ready(&self, ready: bool) {
        self.ready.set(ready as i64);
    }

    /// The page for a scrape, with what the database said (`None`: it could
    /// not be read; the database's gauges are left out then).
    pub fn render(&self, snapshot: Option<&Snapshot>) -> String {
        self.database_up.set(snapshot.is_some() as i64);
        for family in [&self.held, &self.overdue, &self.due_soon] {
            family.clear();
        }
        self.last_run_end.clear();
        self.last_run_duration.clear();
        self.last_run_status.clear();
        if let Some(s) = snapshot {
            for run in &s.last_runs {
                let label = branch(run.branch_id);
                if let Some(end) = run.finished_at {
                    self.last_run_end
                        .get_or_create(&label)
                        .set(end.timestamp_millis() as f64 / 1000.0);
                    let took = (end - run.started_at).num_milliseconds().max(0);
                    self.last_run_duration
                        .get_or_create(&label)
                        .set(took as f64 / 1000.0);
                }
                for status in RunStatus::ALL.iter().filter(|s| **s != RunStatus::Running) {
                    self.last_run_status
                        .get_or_create(&StatusLabel {
                            branch: label.branch.clone(),
                            status: status.as_str().to_string(),
                        })
                        .set((*status == run.status) as i64);
                }
                self.held
                    .get_or_create(&label)
                    .set((run.status == RunStatus::Held) as i64);
            }
            for (b, overdue, due_soon) in &s.pending {
                self.overdue.get_or_create(&branch(*b)).set(*overdue);
                self.due_soon.get_or_create(&branch(*b)).set(*due_soon);
            }
            self.outbox_queued.set(s.outbox.0);
            self.outbox_given_up.set(s.outbox.1);
        }
        let mut page = String::new();
        // writing into a String cannot fail
        let _ = prometheus_client::encoding::text::encode(&mut page, &self.registry);
        page
    }
}

/// A run going on: counted in `runs_in_progress` until dropped.
pub struct InProgress(());

impl InProgress {
    /// Counts a run that started.
    pub fn start() -> InProgress {
        global().runs_in_progress.inc();
        InProgress(())
    }
}

impl Drop for InProgress {
    fn drop(&mut self) {
        global().runs_in_progress.dec();
    }
}

fn branch(id: i64) -> BranchLabel {
    BranchLabel {
        branch: id.to_string(),
    }
}
