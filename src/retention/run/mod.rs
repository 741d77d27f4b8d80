//! The anonymization run: one cut-off for the whole run, per-branch advisory
//! locks, candidates listed once per branch, then bounded transactional
//! batches that re-check the rules under the row lock, anonymize and write
//! their protocol rows in the same transaction.
//!
//! The phases have a file each: [`plan`] locks the branches and lists the
//! candidates (nothing changed; a manual run shows this and asks), [`batch`]
//! records the run and works the candidates off, [`finish`] records the end
//! with its summaries.

mod batch;
mod finish;
mod plan;
mod sizer;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::db::{self, GenericClient};
use crate::error::{Error, Refusal, Result};
use crate::model::{Action, GuestType, RunKind, RunStatus, Seal};
use crate::notify::Notifier;
use crate::settings::BatchSettings;

pub use plan::{prepare, BranchPlan, Prepared, TypeCounts};
pub use sizer::BatchSizes;

/// Guests per action and guest type.
pub type Counts = BTreeMap<Action, BTreeMap<GuestType, i64>>;

/// `counts` keyed by names, in the order of the names (JSON, tables).
pub fn named(counts: &Counts) -> BTreeMap<&'static str, BTreeMap<&'static str, i64>> {
    counts
        .iter()
        .map(|(action, types)| {
            let types = types.iter().map(|(t, n)| (t.as_str(), *n)).collect();
            (action.as_str(), types)
        })
        .collect()
}

fn serialize_counts<S: serde::Serializer>(counts: &Counts, s: S) -> Result<S::Ok, S::Error> {
    named(counts).serialize(s)
}

fn serialize_branch_counts<S: serde::Serializer>(
    counts: &BTreeMap<i64, Counts>,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_map(counts.iter().map(|(branch, c)| (branch, named(c))))
}

/// A branch the guard held.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Held {
    /// Branch id.
    pub branch_id: i64,
    /// Guests the run would have anonymized.
    pub candidates: i64,
    /// Guests of the branch not yet anonymized.
    pub not_anonymized: i64,
    /// The guard fraction in force.
    pub guard: f64,
}

/// How a run is to be executed.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Scheduled or manual.
    pub kind: RunKind,
    /// Actor for the protocol (a login, or `retentiond` for the daemon).
    pub actor: String,
    /// The local night a scheduled run belongs to.
    pub night: Option<NaiveDate>,
    /// No new batch starts once the run has worked this long (what is left
    /// of a night's window; `run --window`).
    pub time_left: Option<Duration>,
    /// Blast-radius guard (scheduled runs): hold a branch above this fraction.
    pub guard: Option<f64>,
    /// Batch size, pause and timeouts.
    pub batch: BatchSettings,
    /// Queues the completed summaries with the run's end (none: no mails).
    pub notify: Option<Arc<Notifier>>,
}

/// The result of a run.
#[derive(Clone, Debug, Serialize)]
pub struct RunReport {
    /// Run id in `retention.runs`.
    pub run_id: i64,
    /// Scheduled or manual.
    pub kind: RunKind,
    /// How it ended.
    pub status: RunStatus,
    /// The cut-off.
    pub cutoff: DateTime<Utc>,
    /// Branches worked on (or held).
    pub branches: Vec<i64>,
    /// Actions done: action → guest type → guests.
    #[serde(serialize_with = "serialize_counts")]
    pub counts: Counts,
    /// The same per branch.
    #[serde(serialize_with = "serialize_branch_counts")]
    pub branch_counts: BTreeMap<i64, Counts>,
    /// Guests still due when the run ended.
    pub remaining: i64,
    /// Guests no longer due when their batch re-checked them (new activity).
    pub kept: i64,
    /// Branches the guard held.
    pub held: Vec<Held>,
    /// Branches another run kept busy: not worked on.
    pub skipped: Vec<i64>,
    /// Wall time.
    pub duration_ms: u64,
    /// The error that ended the run, if any.
    pub error: Option<String>,
    /// Outbox ids of the completed summaries queued with the run's end.
    pub mails: Vec<i64>,
    /// How long the batches held their row locks.
    pub lock_holds: LockHolds,
    /// The sizes the batches took (they adapt to `batch.max_lock_hold`).
    pub batch_sizes: BatchSizes,
    /// The protocol's newest seal once the end is recorded.
    pub seal: Option<Seal>,
}

/// How long batches held their row locks, in a fixed histogram of
/// milliseconds (flat memory however many batches a run has).
#[derive(Clone, Debug)]
pub struct LockHolds {
    /// Batches per millisecond; the last bucket holds everything longer.
    buckets: Vec<u64>,
    max_ms: u64,
}

impl Default for LockHolds {
    fn default() -> Self {
        LockHolds {
            buckets: vec![0; 10_001],
            max_ms: 0,
        }
    }
}

impl LockHolds {
    /// Counts one batch.
    pub fn record(&mut self, hold: Duration) {
        let ms = hold.as_millis().min(u128::from(u64::MAX)) as u64;
        let last = self.buckets.len() - 1;
        self.buckets[(ms as usize).min(last)] += 1;
        self.max_ms = self.max_ms.max(ms);
    }

    /// Batches counted.
    pub fn batches(&self) -> u64 {
        self.buckets.iter().sum()
    }

    /// The hold that 99 % of the batches stayed within, in milliseconds.
    pub fn p99_ms(&self) -> u64 {
        let total = self.batches();
        let rank = (total * 99).div_ceil(100);
        let mut seen = 0;
        for (ms, n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen >= rank && total > 0 {
                return ms as u64;
            }
        }
        0
    }
}

impl Serialize for LockHolds {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("LockHolds", 3)?;
        st.serialize_field("batches", &self.batches())?;
        st.serialize_field("p99_ms", &self.p99_ms())?;
        st.serialize_field("max_ms", &self.max_ms)?;
        st.end()
    }
}

impl RunReport {
    fn new(run_id: i64, kind: RunKind, cutoff: DateTime<Utc>, branches: Vec<i64>) -> Self {
        RunReport {
            run_id,
            kind,
            status: RunStatus::Running,
            cutoff,
            branches,
            counts: BTreeMap::new(),
            branch_counts: BTreeMap::new(),
            remaining: 0,
            kept: 0,
            held: Vec::new(),
            skipped: Vec::new(),
            duration_ms: 0,
            error: None,
            mails: Vec::new(),
            lock_holds: LockHolds::default(),
            batch_sizes: BatchSizes::default(),
            seal: None,
        }
    }

    /// Counts `n` guests of `action` and type in `branch_id`.
    fn record(&mut self, branch_id: i64, action: Action, guest_type: GuestType, n: i64) {
        for counts in [
            &mut self.counts,
            self.branch_counts.entry(branch_id).or_default(),
        ] {
            *counts
                .entry(action)
                .or_default()
                .entry(guest_type)
                .or_default() += n;
        }
    }

    /// Guests of one action, all types.
    pub fn total(&self, action: Action) -> i64 {
        total(&self.counts, action)
    }
}

/// Guests of one action in `counts`, all types.
pub fn total(counts: &Counts, action: Action) -> i64 {
    counts.get(&action).map(|m| m.values().sum()).unwrap_or(0)
}

/// Progress callbacks, for a progress bar or log lines.
pub trait Progress: Send + Sync {
    /// The run starts work on `total` guests.
    fn start(&self, _total: u64) {}
    /// A batch committed; `done` guests of `total` are through.
    fn batch(&self, _done: u64, _total: u64) {}
    /// The run ended.
    fn finish(&self) {}
}

/// Without a terminal: a log line per group of batches (at most every 5 s).
pub struct LogLines {
    started: Instant,
    last: Mutex<Option<Instant>>,
}

impl LogLines {
    /// Starts the clock for rates.
    pub fn new() -> Self {
        LogLines {
            started: Instant::now(),
            last: Mutex::new(None),
        }
    }
}

impl Default for LogLines {
    fn default() -> Self {
        Self::new()
    }
}

impl Progress for LogLines {
    fn batch(&self, done: u64, total: u64) {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        let due = last.is_none_or(|t| t.elapsed() >= Duration::from_secs(5)) || done >= total;
        if due {
            *last = Some(Instant::now());
            let secs = self.started.elapsed().as_secs_f64().max(0.001);
            tracing::info!(
                done,
                total,
                rate = format!("{:.0}/s", done as f64 / secs),
                "run progress"
            );
        }
    }
}

/// No progress output.
pub struct Silent;
impl Progress for Silent {}

/// The branches a manual run covers: the one asked for, or every branch
/// with at least one period in force.
pub async fn configured_branches(
    client: &impl GenericClient,
    branch: Option<i64>,
) -> Result<Vec<i64>> {
    if let Some(b) = branch {
        super::ensure_branch_exists(client, b).await?;
    }
    let branches = db::runs::configured_branches(client, branch).await?;
    if let (Some(b), true) = (branch, branches.is_empty()) {
        return Err(Error::Refused(Refusal::NoPeriod(b)));
    }
    Ok(branches)
}
