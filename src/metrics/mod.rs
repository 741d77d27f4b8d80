//! The daemon's Prometheus metrics (prometheus-client), as the Prometheus
//! text format 0.0.4 or OpenMetrics, whichever the scraper asks for.
//! What the process sees itself (guests anonymized by its runs, batch
//! durations and lock holds, readiness) is counted as it happens; what the
//! database knows (each branch's last run and night, the newest pending
//! snapshot, the outbox) is read from small tables at each scrape, never
//! from the guests, and left out while the database cannot be read
//! ([`database`]); the `process_*` metrics come from /proc ([`process`]).

mod database;
pub mod process;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::db::metrics::Snapshot;
use crate::model::Action;
use database::DatabaseGauges;

/// The exposition formats a scrape can ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// The Prometheus text format 0.0.4: what promtool and prom2json read.
    Text,
    /// OpenMetrics 1.0 text.
    OpenMetrics,
}

impl Format {
    /// The `Content-Type` of a page in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Text => prometheus_client::encoding::prometheus_text::CONTENT_TYPE,
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }

    /// What an `Accept` header asks for: OpenMetrics when it is accepted
    /// at least as much as the text format, the text format otherwise
    /// (also without the header: curl, promtool, prom2json).
    pub fn negotiate(accept: Option<&str>) -> Format {
        let Some(accept) = accept else {
            return Format::Text;
        };
        let (mut openmetrics, mut text) = (0.0f64, 0.0f64);
        for range in accept.split(',') {
            let mut parts = range.split(';').map(str::trim);
            let media = parts.next().unwrap_or_default().to_ascii_lowercase();
            let q = parts
                .filter_map(|p| p.strip_prefix("q="))
                .find_map(|q| q.parse::<f64>().ok())
                .unwrap_or(1.0);
            match media.as_str() {
                "application/openmetrics-text" => openmetrics = openmetrics.max(q),
                "text/plain" | "text/*" | "*/*" => text = text.max(q),
                _ => {}
            }
        }
        if openmetrics > 0.0 && openmetrics >= text {
            Format::OpenMetrics
        } else {
            Format::Text
        }
    }
}

/// A branch, as a label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BranchLabel {
    branch: String,
}

/// Every metric, registered once per process.
pub struct Metrics {
    registry: Registry,
    anonymized: Family<BranchLabel, Counter>,
    unsubscribed: Family<BranchLabel, Counter>,
    fiscal_erased: Family<BranchLabel, Counter>,
    batch_seconds: Histogram,
    lock_hold_seconds: Histogram,
    /// The daemon's own readiness; the gauge also needs the database.
    daemon_ready: AtomicBool,
    ready: Gauge,
    runs_in_progress: Gauge,
    database_up: Gauge,
    ledger_ok: Gauge,
    ledger_recorded: Gauge,
    database: DatabaseGauges,
    /// One page at a time: the snapshot and the counters belong together.
    page: Mutex<()>,
}

static METRICS: OnceLock<Metrics> = OnceLock::new();

/// The process's metrics.
pub fn global() -> &'static Metrics {
    METRICS.get_or_init(Metrics::new)
}

impl Metrics {
    fn new() -> Metrics {
        let mut m = Metrics {
            registry: Registry::default(),
            anonymized: Family::default(),
            unsubscribed: Family::default(),
            fiscal_erased: Family::default(),
            // 5 ms … 20 s
            batch_seconds: Histogram::new(exponential_buckets(0.005, 2.0, 13)),
            lock_hold_seconds: Histogram::new(exponential_buckets(0.005, 2.0, 13)),
            daemon_ready: AtomicBool::new(false),
            ready: Gauge::default(),
            runs_in_progress: Gauge::default(),
            database_up: Gauge::default(),
            ledger_ok: Gauge::default(),
            ledger_recorded: Gauge::default(),
            database: DatabaseGauges::default(),
            page: Mutex::new(()),
        };
        m.registry
            .register_collector(Box::new(process::ProcessMetrics));
        // the registry keeps handles to the same metrics
        let r = m.registry.sub_registry_with_prefix("retentiond");
        // a gauge, not OpenMetrics' info type: the text format has none
        let build: Family<[(&str, &str); 1], Gauge> = Family::default();
        build
            .get_or_create(&[("version", env!("CARGO_PKG_VERSION"))])
            .set(1);
        r.register("build_info", "The running version (always 1)", build);
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
            "1 when the daemon is ready and this scrape could read the database",
            m.ready.clone(),
        );
        r.register(
            "runs_in_progress",
            "Runs of this process going on now",
            m.runs_in_progress.clone(),
        );
        r.register(
            "database_up",
            "1 when this scrape could read the database within 5 s",
            m.database_up.clone(),
        );
        register_ledger(r, &m.ledger_ok, &m.ledger_recorded);
        r.register_collector(Box::new(m.database.clone()));
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

    /// The daemon's ledger step: whether all was well, and when it
    /// recorded (`None`: it could not).
    pub fn ledger(&self, ok: bool, recorded_at: Option<chrono::DateTime<chrono::Utc>>) {
        self.ledger_ok.set(i64::from(ok));
        if let Some(at) = recorded_at {
            self.ledger_recorded.set(at.timestamp());
        }
    }

    /// Whether the daemon is ready (the database reachable and migrated).
    pub fn set_ready(&self, ready: bool) {
        self.daemon_ready.store(ready, Ordering::Relaxed);
    }

    /// The page for a scrape in `format`, with what the database said
    /// (`None`: it could not be read; its gauges are left out then, and
    /// `ready` is 0). Every branch the database knows has its counters,
    /// at 0 until its first run.
    pub fn render(&self, snapshot: Option<Snapshot>, format: Format) -> String {
        let _page = self.page.lock().unwrap_or_else(|e| e.into_inner());
        let up = snapshot.is_some();
        self.database_up.set(i64::from(up));
        self.ready
            .set(i64::from(up && self.daemon_ready.load(Ordering::Relaxed)));
        if let Some(s) = &snapshot {
            for b in &s.branches {
                let label = branch(b.branch_id);
                for family in [&self.anonymized, &self.unsubscribed, &self.fiscal_erased] {
                    let _ = family.get_or_create(&label);
                }
            }
        }
        *self.database.0.lock().unwrap_or_else(|e| e.into_inner()) = snapshot;
        let mut page = String::new();
        // writing into a String cannot fail
        let _ = match format {
            Format::Text => {
                prometheus_client::encoding::prometheus_text::encode(&mut page, &self.registry)
            }
            Format::OpenMetrics => {
                prometheus_client::encoding::text::encode(&mut page, &self.registry)
            }
        };
        page
    }
}

/// The daemon's ledger step.
fn register_ledger(r: &mut Registry, ok: &Gauge, recorded: &Gauge) {
    r.register(
        "ledger_ok",
        "1 when the daemon's last ledger step found the database as the ledger saw it and \
         recorded its newest seal; 0 before the first, or when it is behind, rewritten, \
         another database's, broken or cannot be written (status says which)",
        ok.clone(),
    );
    r.register(
        "ledger_recorded_timestamp_seconds",
        "When the daemon last brought the ledger up to date (Unix time; 0: not yet)",
        recorded.clone(),
    );
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_asks_for_openmetrics_and_curl_gets_the_text_format() {
        let prometheus = "application/openmetrics-text;version=1.0.0,\
                          application/openmetrics-text;version=0.0.1;q=0.75,\
                          text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert_eq!(Format::negotiate(Some(prometheus)), Format::OpenMetrics);
        assert_eq!(Format::negotiate(Some("*/*")), Format::Text);
        assert_eq!(Format::negotiate(None), Format::Text);
        assert_eq!(
            Format::negotiate(Some(
                "text/plain;version=0.0.4,application/openmetrics-text;q=0.5"
            )),
            Format::Text
        );
        assert_eq!(
            Format::negotiate(Some("application/openmetrics-text; version=1.0.0")),
            Format::OpenMetrics
        );
    }
}
