//! `status`: the state of the service at a glance, for people and for
//! monitoring. Exit 0 when all is well, 3 when something needs attention
//! (failed mails, a failed last run, a held branch, a schema mismatch),
//! 1 when the state cannot be read at all.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use super::output::{print_json, time, Table};
use super::Format;
use crate::clock::Clock;
use crate::daemon;
use crate::db::{self, migrate};
use crate::error::{Error, Result};
use crate::run::BRANCH_LOCK_CLASS;
use crate::settings::Settings;

#[derive(Debug, Serialize)]
struct Status {
    schema: SchemaState,
    last_runs: Vec<RunLine>,
    next_runs: Vec<NextRun>,
    held_branches: Vec<i64>,
    failed_last_run: Vec<i64>,
    outbox: OutboxState,
    locks: Vec<LockLine>,
    auto_delete_unconfigured: Vec<Unconfigured>,
    attention: Vec<String>,
}

#[derive(Debug, Serialize)]
struct SchemaState {
    database: i32,
    binary: i32,
    ok: bool,
}

#[derive(Debug, Serialize)]
struct RunLine {
    id: i64,
    kind: String,
    actor: String,
    branches: Vec<i64>,
    status: String,
    started_at: DateTime<Utc>,
    finished_at: Option<DateTime<Utc>>,
    anonymized: i64,
    newsletter_unsubscribed: i64,
    fiscal_data_erased: i64,
    remaining: i64,
    error: Option<String>,
}

#[derive(Debug, Serialize)]
struct NextRun {
    branch_id: i64,
    at: DateTime<Utc>,
}

#[derive(Debug, Serialize)]
struct OutboxState {
    queued: i64,
    failed_last_7_days: i64,
}

#[derive(Debug, Serialize)]
struct LockLine {
    branch_id: i64,
    pid: i32,
    application_name: Option<String>,
}

#[derive(Debug, Serialize)]
struct Unconfigured {
    branch_id: i64,
    types: Vec<String>,
}

fn total(counts: &Value, action: &str) -> i64 {
    counts
        .get(action)
        .and_then(Value::as_object)
        .map(|m| m.values().filter_map(Value::as_i64).sum())
        .unwrap_or(0)
}

pub async fn status(settings: &Settings, format: Format, clock: &dyn Clock) -> Result<()> {
    let pool = db::connect_pool(&settings.database)?;
    let client = pool.get().await?;
    let now = clock.now();
    let database = migrate::current_version(&client).await?;
    let binary = migrate::latest_version();
    let schema = SchemaState {
        database,
        binary,
        ok: database == binary,
    };
    let mut attention = Vec::new();
    if !schema.ok {
        attention.push(format!(
            "schema version {database} does not match this binary ({binary}): run `retentiond migrate`"
        ));
        return finish(
            Status {
                schema,
                last_runs: Vec::new(),
                next_runs: Vec::new(),
                held_branches: Vec::new(),
                failed_last_run: Vec::new(),
                outbox: OutboxState {
                    queued: 0,
                    failed_last_7_days: 0,
                },
                locks: Vec::new(),
                auto_delete_unconfigured: Vec::new(),
                attention,
            },
            format,
        );
    }

    let last_runs: Vec<RunLine> = client
        .query(
            include_str!("../../sql/queries/status_last_runs.sql"),
            &[&10i64],
        )
        .await?
        .iter()
        .map(|r| {
            let counts: Value = r.get("counts");
            RunLine {
                id: r.get("id"),
                kind: r.get("kind"),
                actor: r.get("actor"),
                branches: r.get("branches"),
                status: r.get("status"),
                started_at: r.get("started_at"),
                finished_at: r.get("finished_at"),
                anonymized: total(&counts, "guest_anonymized"),
                newsletter_unsubscribed: total(&counts, "newsletter_unsubscribed"),
                fiscal_data_erased: total(&counts, "fiscal_data_erased"),
                remaining: r.get("remaining"),
                error: r.get("error"),
            }
        })
        .collect();

    let next_runs: Vec<NextRun> = daemon::next_runs(&pool, settings, clock)
        .await?
        .into_iter()
        .map(|(branch_id, at)| NextRun { branch_id, at })
        .collect();
    let mut held_branches = Vec::new();
    let mut failed_last_run = Vec::new();
    let mut auto_delete_unconfigured = Vec::new();
    for r in client
        .query(include_str!("../../sql/queries/status_branches.sql"), &[])
        .await?
    {
        let branch_id: i64 = r.get("branch_id");
        let auto_delete: bool = r.get("auto_delete");
        let unconfigured: Vec<String> = r.get("unconfigured");
        if auto_delete && !unconfigured.is_empty() {
            auto_delete_unconfigured.push(Unconfigured {
                branch_id,
                types: unconfigured,
            });
        }
        if r.get::<_, bool>("held") {
            held_branches.push(branch_id);
            attention.push(format!(
                "branch {branch_id} is held by the guard: check its periods, then confirm with \
                 `retentiond run --branch {branch_id}`"
            ));
        }
        if r.get::<_, Option<String>>("last_run_status").as_deref() == Some("failed") {
            failed_last_run.push(branch_id);
            attention.push(format!(
                "the last run of branch {branch_id} failed: see `retentiond status` (last runs) \
                 and the journal"
            ));
        }
    }
    let o = client
        .query_one(include_str!("../../sql/queries/status_outbox.sql"), &[&now])
        .await?;
    let outbox = OutboxState {
        queued: o.get("queued"),
        failed_last_7_days: o.get("failed_recently"),
    };
    if outbox.failed_last_7_days > 0 {
        attention.push(format!(
            "{} mail(s) given up in the last 7 days: see `retentiond outbox list`",
            outbox.failed_last_7_days
        ));
    }
    let locks = client
        .query(
            include_str!("../../sql/queries/status_locks.sql"),
            &[&BRANCH_LOCK_CLASS],
        )
        .await?
        .iter()
        .map(|r| LockLine {
            branch_id: r.get("branch_id"),
            pid: r.get("pid"),
            application_name: r.get("application_name"),
        })
        .collect();
    finish(
        Status {
            schema,
            last_runs,
            next_runs,
            held_branches,
            failed_last_run,
            outbox,
            locks,
            auto_delete_unconfigured,
            attention,
        },
        format,
    )
}

fn finish(status: Status, format: Format) -> Result<()> {
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

fn print_table(s: &Status) {
    println!(
        "schema: version {} (binary {}){}",
        s.schema.database,
        s.schema.binary,
        if s.schema.ok { "" } else { "  MISMATCH" }
    );
    println!();
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
                r.kind.clone(),
                r.status.clone(),
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
    println!();
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
            u.types.join(", ")
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
    println!();
    if s.attention.is_empty() {
        println!("state: ok");
    } else {
        println!("state: needs attention");
        for a in &s.attention {
            println!("  - {a}");
        }
    }
}
