//! The gauges read from the database at a scrape. They are written only
//! when the scrape could read it: while the database is down they are
//! absent, never a stale or made-up 0 that would clear an alert.

use std::sync::{Arc, Mutex};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;

use crate::db::metrics::Snapshot;
use crate::model::RunStatus;

/// The snapshot of the scrape being answered; `None`: the database could
/// not be read.
#[derive(Debug, Default, Clone)]
pub(super) struct DatabaseGauges(pub(super) Arc<Mutex<Option<Snapshot>>>);

/// One gauge per branch: `value` of each branch of the snapshot.
fn per_branch(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    branches: &[i64],
    value: impl Fn(i64) -> f64,
) -> Result<(), std::fmt::Error> {
    let mut family = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
    for b in branches {
        let labels = [("branch", b.to_string())];
        ConstGauge::new(value(*b)).encode(family.encode_family(&labels)?)?;
    }
    Ok(())
}

fn timestamp(t: chrono::DateTime<chrono::Utc>) -> f64 {
    t.timestamp_millis() as f64 / 1000.0
}

impl Collector for DatabaseGauges {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let guard = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let Some(s) = guard.as_ref() else {
            return Ok(());
        };
        let branches: Vec<i64> = s.branches.iter().map(|b| b.branch_id).collect();
        encode_runs(&mut encoder, s, &branches)?;
        encode_pending(&mut encoder, s, &branches)?;
        encode_outbox(&mut encoder, s)
    }
}

/// Per branch: automatic deletion, its newest run and its newest night.
fn encode_runs(
    e: &mut DescriptorEncoder,
    s: &Snapshot,
    branches: &[i64],
) -> Result<(), std::fmt::Error> {
    let run = |b: i64| s.last_runs.iter().find(|r| r.branch_id == b);
    per_branch(
        e,
        "auto_delete",
        "1 when the branch's nightly automatic deletion is on.",
        branches,
        |b| f64::from(s.branches.iter().any(|x| x.branch_id == b && x.auto_delete)),
    )?;
    per_branch(
        e,
        "paused",
        "1 while a pause of deleting work is in force over the branch (retentiond pause).",
        branches,
        |b| f64::from(s.branches.iter().any(|x| x.branch_id == b && x.paused)),
    )?;
    per_branch(
        e,
        "last_run_end_timestamp_seconds",
        "End of the branch's newest run that has ended (Unix time; 0: none yet).",
        branches,
        |b| run(b).and_then(|r| r.finished_at).map_or(0.0, timestamp),
    )?;
    per_branch(
        e,
        "last_run_duration_seconds",
        "Wall time of the branch's newest run that has ended (0: none yet).",
        branches,
        |b| {
            run(b)
                .and_then(|r| Some((r.finished_at? - r.started_at).num_milliseconds()))
                .map_or(0.0, |ms| ms.max(0) as f64 / 1000.0)
        },
    )?;
    let mut family = e.encode_descriptor(
        "last_run_status",
        "1 for the status of the branch's newest run that has ended (all 0: none yet).",
        None,
        MetricType::Gauge,
    )?;
    for b in branches {
        for status in RunStatus::ALL.iter().filter(|s| **s != RunStatus::Running) {
            let labels = [
                ("branch", b.to_string()),
                ("status", status.as_str().to_string()),
            ];
            let is = run(*b).is_some_and(|r| r.status == *status);
            ConstGauge::new(i64::from(is)).encode(family.encode_family(&labels)?)?;
        }
    }
    per_branch(
        e,
        "last_completed_night_timestamp_seconds",
        "End of the branch's newest scheduled night that completed (Unix time; 0: none yet).",
        branches,
        |b| {
            s.last_nights
                .iter()
                .find(|(x, _)| *x == b)
                .map_or(0.0, |(_, t)| timestamp(*t))
        },
    )?;
    per_branch(
        e,
        "branch_held",
        "1 when the branch's newest run was held by the guard.",
        branches,
        |b| f64::from(run(b).is_some_and(|r| r.status == RunStatus::Held)),
    )?;
    Ok(())
}

/// Per branch: the newest pending snapshot.
fn encode_pending(
    e: &mut DescriptorEncoder,
    s: &Snapshot,
    branches: &[i64],
) -> Result<(), std::fmt::Error> {
    // NaN until the branch's first pending snapshot: not known, not 0
    let pending = |b: i64| s.pending.iter().find(|(x, _, _)| *x == b);
    per_branch(
        e,
        "guests_overdue",
        "Guests overdue at the branch's newest pending snapshot (NaN: none yet).",
        branches,
        |b| pending(b).map_or(f64::NAN, |p| p.1 as f64),
    )?;
    per_branch(
        e,
        "guests_due_soon",
        "Guests due soon at the branch's newest pending snapshot (NaN: none yet).",
        branches,
        |b| pending(b).map_or(f64::NAN, |p| p.2 as f64),
    )?;
    Ok(())
}

/// The outbox.
fn encode_outbox(e: &mut DescriptorEncoder, s: &Snapshot) -> Result<(), std::fmt::Error> {
    let queued = e.encode_descriptor(
        "outbox_queued",
        "Mails waiting to be delivered.",
        None,
        MetricType::Gauge,
    )?;
    ConstGauge::new(s.outbox.0).encode(queued)?;
    let given_up = e.encode_descriptor(
        "outbox_given_up",
        "Mails given up in the last 7 days.",
        None,
        MetricType::Gauge,
    )?;
    ConstGauge::new(s.outbox.1).encode(given_up)?;
    let columns = e.encode_descriptor(
        "unclassified_columns",
        "Columns of the guest data nobody decided on (retentiond columns show).",
        None,
        MetricType::Gauge,
    )?;
    ConstGauge::new(s.unclassified_columns).encode(columns)?;
    let restore = e.encode_descriptor(
        "last_restore_timestamp_seconds",
        "When the ledger last found the database restored or rewound (Unix time; 0: never).",
        None,
        MetricType::Gauge,
    )?;
    ConstGauge::new(s.last_restore.map_or(0.0, timestamp)).encode(restore)
}
