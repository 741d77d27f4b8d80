//! `status`: the state of the service at a glance, for people and for
//! monitoring. Exit 0 when all is well, 3 when something needs attention
//! (failed mails, a failed last run, a held branch, a schema mismatch),
//! 1 when the state cannot be read at all.

use serde::Serialize;

use super::output::{print_json, time, Table};
use super::{Context, Format};
use crate::error::{Error, Result};
use crate::retention::health::{self, Attention, Health};

/// The health as shown: with what needs attention, in words.
#[derive(Debug, Serialize)]
struct Status {
    #[serde(flatten)]
    health: Health,
    attention: Vec<String>,
}

fn join(ids: &[i64]) -> String {
    ids.iter()
        .map(|b| b.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

fn describe(a: &Attention) -> String {
    match a {
        Attention::SchemaMismatch { database, binary } if database == binary => {
            "the database's rules (functions and views) are not this binary's: run \
             `retentiond migrate`"
                .to_string()
        }
        Attention::SchemaMismatch { database, binary } => format!(
            "schema version {database} does not match this binary ({binary}): run `retentiond migrate`"
        ),
        Attention::Held(b) => format!(
            "branch {b} is held by the guard: check its periods, then confirm with \
             `retentiond run --branch {b}`"
        ),
        Attention::LastRunFailed(b) => format!(
            "the last run of branch {b} failed: see `retentiond status` (last runs) \
             and the journal"
        ),
        Attention::MailsGivenUp(n) => {
            format!("{n} mail(s) given up in the last 7 days: see `retentiond outbox list`")
        }
        Attention::StaleRun(run, branches) => format!(
            "run {run} (branch(es) {}) died without finishing: the next run on its branches \
             marks it interrupted and does the rest; `retentiond run --branch ID` now, or let \
             the daemon retry the night",
            join(branches)
        ),
        Attention::LastRunInterrupted(b) => format!(
            "the last run of branch {b} was interrupted: what it did not reach waits for the \
             next run (`retentiond run --branch {b}`, or the next night)"
        ),
        Attention::MissedNight(b, night) => format!(
            "branch {b} missed the night of {night}: no run in its window (daemon down or \
             database unreachable); the next night catches up"
        ),
        Attention::HoldExpired(id, until) => format!(
            "legal hold {id} is past its date ({until}) and still in force: release it \
             (`retentiond hold release --hold {id}`) or renew it (a new hold first, then release \
             this one)"
        ),
        Attention::Paused(id, branch, until) => format!(
            "deleting is paused (pause {id}, {}) until {}: no run, batch or approval deletes; \
             `retentiond resume{}` ends it earlier",
            branch.map_or("every branch".to_string(), |b| format!("branch {b}")),
            until.format("%Y-%m-%d %H:%M UTC"),
            branch.map_or(String::new(), |b| format!(" --branch {b}"))
        ),
        Attention::Ledger(problem) => format!(
            "{problem}: see `retentiond protocol verify`; the daemon (or `retentiond replay`) \
             records a restore and applies again the approved erasures it lost"
        ),
        Attention::LedgerLags(pos, since) => format!(
            "the ledger has not recorded seal {pos} of the protocol, sealed since {}: the daemon \
             records the newest seal at every tick; is it running, and can it write ledger.path? \
             (see its log)",
            since.format("%Y-%m-%d %H:%M UTC")
        ),
        Attention::RestoreOverdue(n) => format!(
            "{n} guest(s) a restored backup brought back are overdue: the runs after the backup \
             had anonymized them; the next night (or `retentiond run`) takes them again"
        ),
        Attention::UnclassifiedColumns(columns) => format!(
            "{} column(s) of the guest data are unclassified ({}): anonymization leaves them as \
             they are until someone decides (`retentiond columns set --column TABLE.COLUMN \
             --handling anonymize|keep`)",
            columns.len(),
            columns.join(", ")
        ),
        Attention::InvalidTimeZone(b, tz) => format!(
            "branch {b} has the time zone {tz:?}, which PostgreSQL does not know: the branch is \
             left out of runs, reports and summaries until branches.time_zone is fixed"
        ),
    }
}

pub async fn status(cx: &Context, format: Format) -> Result<()> {
    let health = health::gather(cx).await?;
    let status = Status {
        attention: health.attention.iter().map(describe).collect(),
        health,
    };
    match format {
        Format::Json => print_json(&status)?,
        Format::Table => print_table(&status),
    }
    if status.attention.is_empty() {
        Ok(())
    } else {
        Err(Error::Attention(status.attention.len()))
    }
}

fn print_table(status: &Status) {
    let s = &status.health;
    println!(
        "schema: version {} (binary {}){}",
        s.schema.database,
        s.schema.binary,
        if s.schema.ok { "" } else { "  MISMATCH" }
    );
    println!();
    print_last_runs(s);
    println!();
    print_schedule_and_outbox(s);
    print_ledger(s);
    println!();
    if status.attention.is_empty() {
        println!("state: ok");
    } else {
        println!("state: needs attention");
        for a in &status.attention {
            println!("  - {a}");
        }
    }
}

fn print_ledger(s: &Health) {
    use crate::retention::ledger::Standing;
    let said = match (&s.ledger.standing, &s.ledger.problem) {
        (_, Some(problem)) => problem.clone(),
        (Some(Standing::Agrees { newest }), None) => {
            format!("agrees with the database up to seal {newest}")
        }
        (Some(_), None) => "holds no seal yet".to_string(),
        (None, None) => "not read".to_string(),
    };
    println!("ledger: {} ({said})", s.ledger.path);
    if let Some(r) = &s.restore {
        println!(
            "restore found {}: seals {}–{} lost; {} guest(s) it brought back are overdue",
            time(Some(r.at)),
            r.missing_from.unwrap_or_default(),
            r.missing_to.unwrap_or_default(),
            r.overdue_brought_back
        );
    }
}

fn print_last_runs(s: &Health) {
    println!("last runs:");
    if s.last_runs.is_empty() {
        println!("  none yet");
    } else {
        let mut t = Table::new(&[
            "  RUN",
            "KIND",
            "STATUS",
            "STARTED",
            "FINISHED",
            "BRANCHES",
            "ANONYMIZED",
            "UNSUBSCRIBED",
            "FISCAL",
            "REMAINING",
        ]);
        for r in &s.last_runs {
            t.row(vec![
                format!("  {}", r.id),
                r.kind.to_string(),
                r.status.to_string(),
                time(Some(r.started_at)),
                time(r.finished_at),
                r.branches
                    .iter()
                    .map(|b| b.to_string())
                    .collect::<Vec<_>>()
                    .join(","),
                r.anonymized.to_string(),
                r.newsletter_unsubscribed.to_string(),
                r.fiscal_data_erased.to_string(),
                r.remaining.to_string(),
            ]);
        }
        print!("{}", t.render());
    }
}

fn print_schedule_and_outbox(s: &Health) {
    if s.next_runs.is_empty() {
        println!("next runs: none (no branch has automatic deletion on)");
    } else {
        println!("next runs:");
        for n in &s.next_runs {
            println!("  branch {}: {}", n.branch_id, time(Some(n.at)));
        }
    }
    for u in &s.auto_delete_unconfigured {
        println!(
            "  branch {} has automatic deletion on but no period for: {} (never deleted)",
            u.branch_id,
            u.types
                .iter()
                .map(|t| t.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    println!();
    println!(
        "outbox: {} queued, {} given up in the last 7 days",
        s.outbox.queued, s.outbox.failed_last_7_days
    );
    if s.locks.is_empty() {
        println!("locks: no run in progress");
    } else {
        for l in &s.locks {
            println!(
                "locks: branch {} is being processed (pid {}, {})",
                l.branch_id,
                l.pid,
                l.application_name.as_deref().unwrap_or("?")
            );
        }
    }
}
