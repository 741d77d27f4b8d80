//! `run`: the admins' manual catch-up run. Shows what it will do, asks,
//! then works in batches with a progress bar (or log lines without a
//! terminal) and prints a summary.

use std::io::{BufRead, IsTerminal, Write};

use indicatif::{ProgressBar, ProgressStyle};

use std::sync::Arc;

use serde_json::json;

use super::output::{emit, print_json, Table};
use super::{Context, Format, RunArgs};
use crate::error::{Error, Result};
use crate::model::{Action, RunKind, RunStatus};
use crate::notify::sender::FlushScope;
use crate::notify::transport::Transport;
use crate::notify::Notifier;
use crate::retention::pauses;
use crate::retention::run::{self, LogLines, Prepared, Progress, RunOptions, RunReport};
use crate::shutdown::{self, Shutdown};
use tokio_util::sync::CancellationToken;

/// How long a stopped run may take to record its end before it is left.
const STOP_BOUND: std::time::Duration = std::time::Duration::from_millis(4500);

pub async fn run(cx: &Context, args: &RunArgs) -> Result<()> {
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    if !args.dry_run && !args.yes && !interactive {
        return Err(Error::Invalid(
            "refusing to anonymize without confirmation: there is no terminal to ask on. \
             Check what would happen with `retentiond run --dry-run`, then confirm with --yes"
                .into(),
        ));
    }
    let notifier = Arc::new(Notifier::from_settings(&cx.settings)?);
    let transport = Transport::from_settings(&cx.settings.mail)?;
    let branches = run::configured_branches(&cx.client().await?, args.branch).await?;
    if branches.is_empty() {
        return emit(
            args.format,
            json!({"outcome": "nothing_configured", "changed": false}),
            || {
                "no branch has a retention period configured: nothing to do \
                 (set periods with `retentiond policy set`)"
                    .to_string()
            },
        );
    }
    if !args.dry_run {
        let paused = pauses::in_force(&cx.client().await?, cx.now()).await?;
        if let Some(refusal) = pauses::refusal(&paused, &branches) {
            return Err(refusal);
        }
    }
    // Ctrl-C and SIGTERM from here on: the running statement is cancelled
    // after a short grace, the current batch rolls back, the run is
    // recorded as interrupted
    let shutdown = Shutdown::on_signals();
    let progress: Arc<dyn Progress> = if std::io::stderr().is_terminal() {
        Arc::new(Bar::new())
    } else {
        Arc::new(LogLines::new())
    };
    let cx = cx
        .clone()
        .with_stop(shutdown.token().clone())
        .with_progress(progress);
    let prepared = run::prepare(&cx, &branches, cx.now(), args.wait).await?;
    let Some(prepared) = ready_to_run(&cx, prepared, args).await? else {
        return Ok(());
    };
    let opts = RunOptions {
        kind: RunKind::Manual,
        actor: args.actor.resolve(),
        night: None,
        time_left: args.window,
        guard: None,
        batch: cx.settings.batch.clone(),
        notify: Some(notifier),
    };
    // the run cancels a statement that goes on after a stop; if even that
    // does not end it, it is left (its session ends with the process)
    let work = prepared.execute(&cx, &opts);
    let Some(result) = shutdown::bounded(&cx.stop, STOP_BOUND, work).await else {
        return Err(Error::Failed(
            "stopped: the run did not end in time and was left; no batch is half done, and the \
             next run marks it interrupted and finishes the work"
                .into(),
        ));
    };
    let report = result?.ok_or_else(|| Error::Failed("the run could not be recorded".into()))?;
    match args.format {
        Format::Json => print_json(&report)?,
        Format::Table => print_summary(&report),
    }
    deliver_summaries(&cx, &transport, &report).await;
    match report.status {
        RunStatus::Interrupted => Err(Error::Failed(format!(
            "run {} was interrupted: every committed batch is complete, {} guest(s) are left \
             for the next run",
            report.run_id, report.remaining
        ))),
        _ => skipped_error(&report.skipped),
    }
}

/// Shows the plan and decides whether to go on: `None` (and the plan
/// abandoned, nothing changed) for a dry run, a stop, nothing to do, or a
/// "no" at the prompt.
async fn ready_to_run(
    cx: &Context,
    prepared: Prepared,
    args: &RunArgs,
) -> Result<Option<Prepared>> {
    if cx.stop.is_cancelled() {
        prepared.abandon().await?;
        return Err(Error::Failed(
            "stopped before the run started: nothing was changed".into(),
        ));
    }
    if args.format == Format::Table {
        print_plan(&prepared);
    }
    if args.dry_run {
        if args.format == Format::Json {
            print_json(&serde_json::json!({
                "dry_run": true,
                "cutoff": prepared.cutoff,
                "branches": prepared.plans,
                "locked_elsewhere": prepared.locked_elsewhere,
            }))?;
        } else {
            println!("dry run: nothing was changed");
        }
        prepared.abandon().await?;
        return Ok(None);
    }
    // a run that could not take a branch is recorded (partial, the branch
    // named as skipped), also when it could take none
    if prepared.total_guests() == 0 && prepared.locked_elsewhere.is_empty() {
        let (cutoff, skipped) = (prepared.cutoff, prepared.locked_elsewhere.clone());
        prepared.abandon().await?;
        emit(
            args.format,
            json!({"outcome": "nothing_due", "changed": false, "cutoff": cutoff,
                   "locked_elsewhere": skipped}),
            || "nothing is due: no guest was changed".to_string(),
        )?;
        return skipped_error(&skipped).map(|()| None);
    }
    let asks = prepared.total_guests() > 0 && !args.yes;
    if asks && !confirm(&prepared, &cx.stop).await? {
        prepared.abandon().await?;
        emit(
            args.format,
            json!({"outcome": "cancelled", "changed": false}),
            || "cancelled: nothing was changed".to_string(),
        )?;
        return Ok(None);
    }
    Ok(Some(prepared))
}

/// A run that skipped a branch did not do all its work: exit 1, naming them.
fn skipped_error(skipped: &[i64]) -> Result<()> {
    if skipped.is_empty() {
        return Ok(());
    }
    let list = skipped
        .iter()
        .map(|b| b.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    Err(Error::Failed(format!(
        "branch(es) {list} were skipped: another run kept them busy for the whole --wait; run \
         again when it has finished (`retentiond status` shows the locks)"
    )))
}

/// Tries to deliver the run's own summaries at once; what the server does
/// not take stays queued for the daemon.
async fn deliver_summaries(cx: &Context, transport: &Transport, report: &RunReport) {
    if report.mails.is_empty() {
        return;
    }
    let scope = FlushScope {
        ignore_backoff: true,
        only: Some(report.mails.clone()),
        ..FlushScope::default()
    };
    match super::mail::flush(cx, transport, &scope).await {
        Ok(f) if f.retrying + f.failed == 0 => {
            eprintln!("summary mail(s) delivered: {}", f.sent)
        }
        Ok(f) => eprintln!(
            "summary mail(s): {} delivered, {} queued for the daemon to retry, {} failed \
             (see `retentiond outbox list`)",
            f.sent, f.retrying, f.failed
        ),
        Err(e) => eprintln!(
            "summary mail(s) queued; delivering failed ({e}): the daemon retries \
             (see `retentiond outbox list`)"
        ),
    }
}

fn print_plan(prepared: &Prepared) {
    println!(
        "cut-off: {}",
        prepared.cutoff.format("%Y-%m-%d %H:%M:%S UTC")
    );
    let mut table = Table::new(&[
        "branch",
        "type",
        "anonymize",
        "newsletter ends",
        "fiscal erasure",
    ]);
    for plan in &prepared.plans {
        for t in &plan.by_type {
            table.row(vec![
                plan.branch_id.to_string(),
                t.guest_type.to_string(),
                t.anonymize.to_string(),
                t.unsubscribe.to_string(),
                t.erase_fiscal.to_string(),
            ]);
        }
    }
    if table.is_empty() {
        println!("nothing is due in branch(es) {}", branch_list(prepared));
    } else {
        print!("{}", table.render());
    }
    for b in &prepared.locked_elsewhere {
        println!("branch {b}: skipped, another run is processing it right now");
    }
}

fn branch_list(prepared: &Prepared) -> String {
    prepared
        .plans
        .iter()
        .map(|p| p.branch_id.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

async fn confirm(prepared: &Prepared, stop: &CancellationToken) -> Result<bool> {
    let mut err = std::io::stderr();
    let _ = write!(
        err,
        "Anonymize {} guest(s) in branch(es) {}? This cannot be undone. Type yes to continue: ",
        prepared.total_guests(),
        branch_list(prepared)
    );
    let _ = err.flush();
    // a plain thread: a read that never returns must not hold the exit
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let mut answer = String::new();
        let _ = tx.send(
            std::io::stdin()
                .lock()
                .read_line(&mut answer)
                .map(|_| answer),
        );
    });
    let answer = tokio::select! {
        answer = rx => answer.map_err(|_| Error::Failed("cannot read the confirmation".into()))?,
        _ = stop.cancelled() => return Ok(false),
    };
    let answer = answer.map_err(|e| Error::io("cannot read the confirmation", e))?;
    Ok(matches!(
        answer.trim().to_lowercase().as_str(),
        "yes" | "y" | "ja" | "j"
    ))
}

fn print_summary(report: &RunReport) {
    println!(
        "run {} {} in {:.1}s",
        report.run_id,
        report.status.as_str(),
        report.duration_ms as f64 / 1000.0
    );
    let mut table = Table::new(&["branch", "action", "type", "guests"]);
    for (branch, counts) in &report.branch_counts {
        for (action, types) in run::named(counts) {
            for (guest_type, n) in types {
                table.row(vec![
                    branch.to_string(),
                    action.to_string(),
                    guest_type.to_string(),
                    n.to_string(),
                ]);
            }
        }
    }
    if !table.is_empty() {
        print!("{}", table.render());
    }
    println!(
        "anonymized: {}, newsletter unsubscriptions: {}, fiscal erasures: {}",
        report.total(Action::GuestAnonymized),
        report.total(Action::NewsletterUnsubscribed),
        report.total(Action::FiscalDataErased)
    );
    if report.kept > 0 {
        println!(
            "kept: {} guest(s) had new activity since the run listed them",
            report.kept
        );
    }
    if report.remaining > 0 {
        println!(
            "remaining: {} guest(s) are left for the next run",
            report.remaining
        );
    }
    for b in &report.skipped {
        println!("branch {b}: skipped, another run was processing it");
    }
    if let Some(e) = &report.error {
        println!("error: {e}");
    }
    if let Some(seal) = &report.seal {
        println!("protocol seal: {seal}");
    }
}

/// A progress bar on the terminal: guests done of total, rate, ETA.
struct Bar(ProgressBar);

impl Bar {
    fn new() -> Self {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template(
                "{bar:40.cyan/blue} {pos}/{len} guests  {per_sec}  ETA {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        Bar(bar)
    }
}

impl Progress for Bar {
    fn start(&self, total: u64) {
        self.0.set_length(total);
    }
    fn batch(&self, done: u64, _total: u64) {
        self.0.set_position(done);
    }
    fn finish(&self) {
        self.0.finish_and_clear();
    }
}

pub async fn pause(
    cx: &Context,
    branch: Option<i64>,
    reason: &str,
    until: chrono::DateTime<chrono::Utc>,
    actor: &str,
    format: Format,
) -> Result<()> {
    let mut client = cx.client().await?;
    let id = pauses::pause(&mut client, branch, reason, until, actor, cx.now()).await?;
    let scope = branch.map_or("every branch".to_string(), |b| format!("branch {b}"));
    emit(
        format,
        json!({"pause_id": id, "branch_id": branch, "until": until}),
        || {
            format!(
                "deleting is paused for {scope} until {} (pause {id}): no run, batch or \
                 approval deletes; it ends by itself then, or with `retentiond resume{}`",
                until.format("%Y-%m-%d %H:%M UTC"),
                branch.map_or(String::new(), |b| format!(" --branch {b}"))
            )
        },
    )
}

pub async fn resume(cx: &Context, branch: Option<i64>, actor: &str, format: Format) -> Result<()> {
    let mut client = cx.client().await?;
    let n = pauses::resume(&mut client, branch, actor).await?;
    let scope = branch.map_or("every branch".to_string(), |b| format!("branch {b}"));
    emit(format, json!({"branch_id": branch, "ended": n}), || {
        format!("deleting goes on for {scope} ({n} pause(s) ended)")
    })
}
