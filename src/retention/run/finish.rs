//! Ending a run: decide its status, and record the end, its `run_finished`
//! row and its completed summaries in one transaction while the branch
//! locks are still held (the prepared run releases them afterwards).

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::batch::Running;
use super::{total, RunOptions, RunReport};
use crate::db::protocol::{self, Entry};
use crate::db::{self, GenericClient};
use crate::error::{Error, Result};
use crate::model::{Action, GuestType, RunStatus, Seal};
use crate::notify::{CompletedSummary, HeldSummary, TypeActions};
use crate::retention::branch_settings;
use crate::retention::context::Context;

/// Why the batch loop stopped.
pub(super) enum Stop {
    /// Every candidate was worked off.
    Done,
    /// The run's window ended.
    Window,
    /// Shutdown was asked.
    Shutdown,
}

/// Decides the status and records the end on the run's connection
/// (`client`), while its branch locks are still held, so that no other run
/// can take the branches (and mark this one interrupted) before its end is
/// on record.
pub(super) async fn finish(
    client: Option<&mut db::Object>,
    cx: &Context,
    running: Running<'_>,
    plans: usize,
    outcome: Result<Stop>,
) -> Result<Option<RunReport>> {
    let Running {
        opts, mut report, ..
    } = running;
    report.status = status_of(&mut report, plans, &outcome);
    let at = cx.now();
    let recorded = match client {
        Some(client) => finish_run(client, opts, &report, at).await,
        None => Err(Error::Failed("the run's connection is gone".into())),
    };
    // The session may be gone (database outage): record the end on a
    // fresh connection, and let the run be marked stale later if even
    // that fails.
    let recorded = match recorded {
        Ok(mails) => Ok(mails),
        Err(e) => {
            tracing::warn!(run.id = report.run_id, error = %e, "cannot record the run's end on its own connection; trying a new one");
            match cx.pool.get().await {
                Ok(mut client) => finish_run(&mut client, opts, &report, at).await,
                Err(e) => Err(e.into()),
            }
        }
    };
    match recorded {
        Ok((mails, seal)) => {
            report.mails = mails;
            report.seal = seal;
        }
        Err(e) if outcome.is_err() => {
            tracing::warn!(run.id = report.run_id, error = %e, "cannot record the failed run's end; the next run marks it interrupted");
        }
        Err(e) => return Err(e),
    }
    log_finished(&report);
    outcome.map(|_| Some(report))
}

/// How the run ended; a failure's full error goes to the log, only what
/// names no data to the report (and so to the records).
fn status_of(report: &mut RunReport, plans: usize, outcome: &Result<Stop>) -> RunStatus {
    match outcome {
        Err(e) => {
            tracing::error!(
                run.id = report.run_id,
                branch.id = single_branch(report),
                error = %e,
                "run failed"
            );
            report.error = Some(e.for_records());
            RunStatus::Failed
        }
        Ok(Stop::Shutdown) => RunStatus::Interrupted,
        Ok(Stop::Window) => RunStatus::Partial,
        Ok(Stop::Done) if !report.held.is_empty() && report.held.len() == plans => RunStatus::Held,
        Ok(Stop::Done) if report.remaining > 0 || !report.skipped.is_empty() => RunStatus::Partial,
        Ok(Stop::Done) => RunStatus::Completed,
    }
}

/// The `run finished` log line.
fn log_finished(report: &RunReport) {
    tracing::info!(
        run.id = report.run_id,
        branch.id = single_branch(report),
        status = report.status.as_str(),
        anonymized = report.total(Action::GuestAnonymized),
        unsubscribed = report.total(Action::NewsletterUnsubscribed),
        fiscal_erased = report.total(Action::FiscalDataErased),
        remaining = report.remaining,
        held = report.held.len(),
        duration_ms = report.duration_ms,
        batches = report.lock_holds.batches(),
        lock_hold_p99_ms = report.lock_holds.p99_ms(),
        batch_size_largest = report.batch_sizes.largest,
        batch_size_last = report.batch_sizes.last,
        seal = report.seal.as_ref().map(tracing::field::display),
        "run finished"
    );
}

/// The branch of a one-branch run (every nightly run), for the log.
fn single_branch(report: &RunReport) -> Option<i64> {
    match report.branches.as_slice() {
        [b] => Some(*b),
        _ => None,
    }
}

/// Records the run's end, its `run_finished` row and its completed
/// summaries in one transaction; returns the queued outbox ids and the
/// protocol's seal after the `run_finished` row.
#[tracing::instrument(skip_all, fields(run.id = report.run_id))]
async fn finish_run(
    client: &mut db::Object,
    opts: &RunOptions,
    report: &RunReport,
    at: DateTime<Utc>,
) -> Result<(Vec<i64>, Option<Seal>)> {
    let mut tx = client.transaction().await?;
    let counts = json!(super::named(&report.counts));
    let held = serde_json::to_value(&report.held).unwrap_or(Value::Null);
    let branch_counts = json!(report
        .branch_counts
        .iter()
        .map(|(branch, c)| (branch.to_string(), super::named(c)))
        .collect::<std::collections::BTreeMap<_, _>>());
    let finished = db::runs::finish(
        &tx,
        report.run_id,
        &db::runs::RunEnd {
            status: report.status,
            counts: &counts,
            branch_counts: &branch_counts,
            remaining: report.remaining,
            held: &held,
            error: report.error.as_deref(),
            at,
        },
    )
    .await?;
    if !finished {
        return Err(Error::Failed(format!(
            "run {} is no longer recorded as running (another process marked it); its end \
             was not recorded, its protocol rows are complete",
            report.run_id
        )));
    }
    protocol::append(
        &tx,
        &Entry {
            branch_id: single_branch(report),
            run_id: Some(report.run_id),
            details: json!({
                "status": report.status.as_str(),
                "counts": counts,
                "branch_counts": branch_counts,
                "remaining": report.remaining,
                "kept": report.kept,
                "held": held,
                "skipped": report.skipped,
                "duration_ms": report.duration_ms,
                "error": report.error,
            }),
            ..Entry::new(&opts.actor, Action::RunFinished)
        },
    )
    .await?;
    // this transaction holds the chain's head: the seal is the run_finished row's
    let seal = protocol::latest_seal(&tx).await?;
    // A mail that cannot be queued must not cost the run its record.
    let mut mails = Vec::new();
    if let Some(notifier) = &opts.notify {
        let savepoint = tx.transaction().await?;
        let queued = match completed_summaries(&savepoint, report, seal.as_ref()).await {
            Ok(summaries) => notifier.queue_completed(&savepoint, &summaries, at).await,
            Err(e) => Err(e),
        };
        match queued {
            Ok(ids) => {
                savepoint.commit().await?;
                mails = ids;
            }
            Err(e) => {
                drop(savepoint);
                tracing::error!(run.id = report.run_id, error = %e, "cannot queue the completed summaries");
            }
        }
    }
    tx.commit().await?;
    Ok((mails, seal))
}

/// The completed summary of every branch of the run that changed
/// something, was held or saw an error, whose completed toggle is on and
/// that has addresses.
async fn completed_summaries(
    client: &impl GenericClient,
    report: &RunReport,
    seal: Option<&Seal>,
) -> Result<Vec<CompletedSummary>> {
    let mut summaries = Vec::new();
    for branch in branch_settings::list(client, None).await? {
        if !report.branches.contains(&branch.branch_id) {
            continue;
        }
        let counts = report.branch_counts.get(&branch.branch_id);
        let held = report.held.iter().find(|h| h.branch_id == branch.branch_id);
        let changed = counts.is_some_and(|c| c.values().any(|t| t.values().any(|n| *n > 0)));
        if !(changed || held.is_some() || report.error.is_some()) {
            continue;
        }
        if !branch.notify_completed || branch.notify_addresses.is_empty() {
            tracing::debug!(branch.id = branch.branch_id, "no completed summary wanted");
            continue;
        }
        let get = |action: Action, t: GuestType| -> i64 {
            counts
                .and_then(|c| c.get(&action))
                .and_then(|m| m.get(&t))
                .copied()
                .unwrap_or(0)
        };
        let by_type = GuestType::ALL
            .iter()
            .map(|&t| TypeActions {
                guest_type: t,
                anonymized: get(Action::GuestAnonymized, t),
                unsubscribed: get(Action::NewsletterUnsubscribed, t),
                fiscal_erased: get(Action::FiscalDataErased, t),
            })
            .collect();
        let totals = |action| counts.map_or(0, |c| total(c, action));
        summaries.push(CompletedSummary {
            branch: branch_settings::mail_target(&branch),
            run_id: report.run_id,
            kind: report.kind,
            status: report.status,
            cutoff: report.cutoff,
            duration_ms: report.duration_ms,
            by_type,
            anonymized: totals(Action::GuestAnonymized),
            unsubscribed: totals(Action::NewsletterUnsubscribed),
            fiscal_erased: totals(Action::FiscalDataErased),
            remaining: report.remaining,
            held: held.map(|h| HeldSummary {
                candidates: h.candidates,
                not_anonymized: h.not_anonymized,
                guard: h.guard,
            }),
            error: report.error.clone(),
            seal: seal.cloned(),
        });
    }
    Ok(summaries)
}
