//! `classify`, `pending` and `protocol`: read-only views for admins.

use std::io::Write;

use chrono::{DateTime, Utc};
use serde_json::json;

use super::output::{print_json, time, Table};
use super::{ClassifyArgs, Context, Format, PendingArgs, ProtocolArgs, ProtocolFormat};
use crate::error::{Error, Result};
use crate::retention::classify::{classify_guest, Classification, Status};
use crate::retention::export::csv_cell;
use crate::retention::protocol;
use crate::retention::{pending, GuestType};

pub async fn classify(cx: &Context, args: &ClassifyArgs, at: DateTime<Utc>) -> Result<()> {
    let client = cx.client().await?;
    let c = classify_guest(&client, args.guest, at).await?;
    match args.format {
        Format::Json => print_json(&json!({
            "guest_id": c.guest_id,
            "branch_id": c.branch_id,
            "guest_type": c.guest_type,
            "last_activity": c.last_activity,
            "personal_deadline": c.personal_deadline,
            "fiscal_deadline": c.fiscal_deadline,
            "blocked_reason": c.blocked_reason,
            "status": c.status,
            "evaluated_at": at,
            "anonymized_at": c.anonymized_at,
            "fiscal_erased_at": c.fiscal_erased_at,
        })),
        Format::Table => {
            print!("{}", explain(&c, at));
            Ok(())
        }
    }
}

/// The table form of `classify`: each value with the reason for it.
fn explain(c: &Classification, at: DateTime<Utc>) -> String {
    let f = &c.facts;
    let blocked = match &c.blocked_reason {
        Some(r) if f.unpaid_invoices > 0 => {
            format!("{r} ({} unpaid invoice(s))", f.unpaid_invoices)
        }
        Some(r) => r.to_string(),
        None => "no".to_string(),
    };
    let status = match c.status {
        Status::NotConfigured => "not configured: never anonymized",
        Status::Retained => "retained",
        Status::Blocked => "due but blocked",
        Status::Overdue => "overdue: the next run anonymizes it",
        Status::FiscalRetained => "anonymized; fiscal data kept",
        Status::FiscalOverdue => "anonymized; fiscal data overdue",
        Status::Done => "anonymized",
    };
    let mut t = Table::new(&["FIELD", "VALUE"]);
    t.row(vec!["guest".into(), c.guest_id.to_string()]);
    t.row(vec!["branch".into(), c.branch_id.to_string()]);
    t.row(vec![
        "type".into(),
        format!("{} ({})", c.guest_type, type_reason(c.guest_type)),
    ]);
    t.row(vec![
        "last activity".into(),
        format!("{} ({})", time(Some(c.last_activity)), activity_sources(c)),
    ]);
    t.row(vec!["personal deadline".into(), personal_deadline(c)]);
    t.row(vec!["fiscal deadline".into(), fiscal_deadline(c)]);
    t.row(vec!["blocked".into(), blocked]);
    t.row(vec![
        "status".into(),
        format!("{status} (at {})", time(Some(at))),
    ]);
    if let Some(a) = c.anonymized_at {
        t.row(vec!["anonymized at".into(), time(Some(a))]);
    }
    if let Some(a) = c.fiscal_erased_at {
        t.row(vec!["fiscal data erased at".into(), time(Some(a))]);
    }
    t.render()
}

/// Why a guest has its type.
fn type_reason(guest_type: GuestType) -> &'static str {
    match guest_type {
        GuestType::CompanyGuest => "at least one sale and a company entered",
        GuestType::RegularGuest => "marked verified",
        GuestType::Guest => "at least one sale, no company",
        GuestType::NewsletterSubscriber => "active newsletter subscription, no sale",
        GuestType::GuestWithoutSale => "no sale, no active newsletter subscription",
    }
}

/// Which facts the last activity is.
fn activity_sources(c: &Classification) -> String {
    let f = &c.facts;
    let sources = [
        ("profile created", f.created_at),
        ("profile edited", f.profile_updated_at),
        ("sale", f.last_sale_at),
        ("reservation booked", f.last_booked_at),
        ("newsletter sign-up", f.subscribed_at),
    ];
    sources
        .iter()
        .filter(|(_, t)| *t == Some(c.last_activity))
        .map(|(name, _)| *name)
        .collect::<Vec<_>>()
        .join(", ")
}

fn period_source(inherited: bool) -> &'static str {
    if inherited {
        "inherited from the head office"
    } else {
        "own"
    }
}

/// The personal deadline and where it comes from.
fn personal_deadline(c: &Classification) -> String {
    let f = &c.facts;
    match (&f.personal_period, c.personal_deadline) {
        (Some(_), Some(d)) if f.latest_reservation_for == Some(d) => format!(
            "{} (kept until the reservation on that day happens)",
            time(Some(d))
        ),
        (Some(p), Some(d)) => format!(
            "{} (last activity + {p}, the {} period, {})",
            time(Some(d)),
            f.personal_period_type,
            period_source(f.personal_period_inherited)
        ),
        _ => format!(
            "never: no period for {} is configured for branch {}",
            f.personal_period_type, c.branch_id
        ),
    }
}

/// The fiscal deadline and where it comes from.
fn fiscal_deadline(c: &Classification) -> String {
    let f = &c.facts;
    if c.guest_type != GuestType::CompanyGuest {
        return "- (only company guests keep fiscal data)".to_string();
    }
    match (&f.fiscal_period, c.fiscal_deadline) {
        (Some(p), Some(d)) => format!(
            "{} (latest sale or invoice + {p}, the company_guest period, {}; never before the \
             personal deadline)",
            time(Some(d)),
            period_source(f.fiscal_period_inherited)
        ),
        (None, _) => format!(
            "never: no company_guest period is configured for branch {}",
            c.branch_id
        ),
        (Some(_), None) => "never: the personal deadline is not configured".to_string(),
    }
}

pub async fn pending(cx: &Context, args: &PendingArgs, at: DateTime<Utc>) -> Result<()> {
    let client = cx.client().await?;
    let until = at + args.within;
    let report = pending::report(&client, at, until, args.branch).await?;
    if args.format == Format::Json {
        let mut value =
            serde_json::to_value(&report).map_err(|e| Error::cause("cannot encode JSON", e))?;
        if args.guests {
            let mut guests = Vec::new();
            pending::for_each_guest(&client, at, until, args.branch, |g| {
                guests.push(g);
                Ok(())
            })
            .await?;
            value["guests"] =
                serde_json::to_value(guests).map_err(|e| Error::cause("cannot encode JSON", e))?;
        }
        return print_json(&value);
    }
    let mut out = std::io::stdout().lock();
    write_out(
        &mut out,
        format!(
            "Pending report at {}, due-soon window until {}\n",
            time(Some(at)),
            time(Some(until))
        ),
    )?;
    for b in &report.branches {
        write_branch_pending(&mut out, b)?;
    }
    if args.guests {
        write_out(
            &mut out,
            "\nGUEST  BRANCH  ACTION  TYPE  STATUS  DEADLINE  REASON\n".to_string(),
        )?;
        pending::for_each_guest(&client, at, until, args.branch, |g| {
            let line = format!(
                "{}  {}  {}  {}  {}  {}  {}\n",
                g.guest_id,
                g.branch_id,
                g.action,
                g.guest_type,
                g.status,
                time(Some(g.deadline)),
                g.blocked_reason.as_deref().unwrap_or("-")
            );
            write_out(&mut out, line)
        })
        .await?;
    }
    Ok(())
}

fn write_out(out: &mut std::io::StdoutLock, s: String) -> Result<()> {
    out.write_all(s.as_bytes())
        .map_err(|e| Error::io("cannot write to stdout", e))
}

/// One branch of the pending report as a table.
fn write_branch_pending(out: &mut std::io::StdoutLock, b: &pending::BranchPending) -> Result<()> {
    let deletion = if b.auto_delete {
        "on".to_string()
    } else {
        format!("off (manual run: retentiond run --branch {})", b.branch_id)
    };
    write_out(
        out,
        format!(
            "\nBranch {} ({}), automatic deletion {deletion}\n",
            b.branch_id, b.branch_name
        ),
    )?;
    if !b.not_configured_types.is_empty() {
        let types: Vec<&str> = b.not_configured_types.iter().map(|t| t.as_str()).collect();
        write_out(
            out,
            format!(
                "  warning: no period configured for {}: these guests are never anonymized\n",
                types.join(", ")
            ),
        )?;
    }
    if b.counts.is_empty() {
        return write_out(out, "  nothing overdue or due\n".to_string());
    }
    let mut t = Table::new(&["  ACTION", "TYPE", "STATUS", "REASON", "GUESTS"]);
    for c in &b.counts {
        t.row(vec![
            format!("  {}", c.action),
            c.guest_type.to_string(),
            c.status.to_string(),
            c.reason.clone().unwrap_or_else(|| "-".to_string()),
            c.guests.to_string(),
        ]);
    }
    write_out(out, t.render())?;
    write_out(
        out,
        format!(
            "  newsletter unsubscriptions ahead: {}\n",
            b.newsletter_unsubscriptions
        ),
    )?;
    if !b.days.is_empty() {
        write_out(out, "  due per day:\n".to_string())?;
        for d in &b.days {
            write_out(
                out,
                format!("    {}  {:<12}  {}\n", d.day, d.action, d.guests),
            )?;
        }
    }
    Ok(())
}

/// Rows `protocol` shows without `--since`, `--until` or `--limit`.
const DEFAULT_PROTOCOL_ROWS: i64 = 1000;

pub async fn protocol(cx: &Context, args: &ProtocolArgs) -> Result<()> {
    let bounded = args.since.is_some() || args.until.is_some();
    let limit = args.limit.or((!bounded).then_some(DEFAULT_PROTOCOL_ROWS));
    let filter = protocol::Filter {
        branch_id: args.branch,
        guest_id: args.guest,
        since: args.since,
        until: args.until,
        action: args.action.clone(),
        limit,
    };
    let mut writer = ProtocolWriter::start(args.format)?;
    let truncated = protocol::stream(cx, &filter, |r| writer.row(&r)).await?;
    writer.finish(truncated, limit)?;
    if truncated {
        eprintln!(
            "note: showing the newest {} row(s); older ones were left out (give --since, or a \
             larger --limit)",
            limit.unwrap_or_default()
        );
    }
    Ok(())
}

/// Protocol rows to stdout in one of the formats, one row at a time (the
/// table, which aligns its columns, is the only one held until the end).
struct ProtocolWriter {
    format: ProtocolFormat,
    out: std::io::BufWriter<std::io::StdoutLock<'static>>,
    table: Table,
    csv: Option<csv::Writer<std::io::Stdout>>,
    rows: u64,
}

fn stdout_error(e: std::io::Error) -> Error {
    Error::io("cannot write to stdout", e)
}

fn csv_error(e: csv::Error) -> Error {
    Error::cause("cannot write the CSV", e)
}

impl ProtocolWriter {
    fn start(format: ProtocolFormat) -> Result<ProtocolWriter> {
        let mut writer = ProtocolWriter {
            format,
            out: std::io::BufWriter::new(std::io::stdout().lock()),
            table: Table::new(&[
                "ID", "AT", "ACTOR", "ACTION", "BRANCH", "GUEST", "TYPE", "RUN", "DETAILS",
            ]),
            // csv goes straight to stdout through its own buffer: memory stays flat
            csv: (format == ProtocolFormat::Csv).then(|| {
                csv::WriterBuilder::new()
                    .terminator(csv::Terminator::CRLF)
                    .from_writer(std::io::stdout())
            }),
            rows: 0,
        };
        if format == ProtocolFormat::Json {
            writer
                .out
                .write_all(b"{\"rows\": [")
                .map_err(stdout_error)?;
        }
        if let Some(w) = writer.csv.as_mut() {
            w.write_record(CSV_COLUMNS).map_err(csv_error)?;
        }
        Ok(writer)
    }

    fn row(&mut self, r: &protocol::Row) -> Result<()> {
        self.rows += 1;
        match self.format {
            ProtocolFormat::Table => {
                self.table.row(table_row(r));
                Ok(())
            }
            ProtocolFormat::Json | ProtocolFormat::Ndjson => {
                let text =
                    serde_json::to_string(r).map_err(|e| Error::cause("cannot encode JSON", e))?;
                let sep = match (self.format, self.rows) {
                    (ProtocolFormat::Json, 1) => "\n  ",
                    (ProtocolFormat::Json, _) => ",\n  ",
                    _ => "",
                };
                self.out.write_all(sep.as_bytes()).map_err(stdout_error)?;
                self.out.write_all(text.as_bytes()).map_err(stdout_error)?;
                if self.format == ProtocolFormat::Ndjson {
                    self.out.write_all(b"\n").map_err(stdout_error)?;
                }
                Ok(())
            }
            ProtocolFormat::Csv => {
                let w = self.csv.as_mut().expect("csv writer");
                w.write_record(csv_row(r)).map_err(csv_error)
            }
        }
    }

    fn finish(mut self, truncated: bool, limit: Option<i64>) -> Result<()> {
        match self.format {
            ProtocolFormat::Table => self
                .out
                .write_all(self.table.render().as_bytes())
                .map_err(stdout_error)?,
            ProtocolFormat::Json => {
                let tail = serde_json::json!({"truncated": truncated, "limit": limit});
                let text = format!(
                    "\n], \"truncated\": {}, \"limit\": {}}}\n",
                    tail["truncated"], tail["limit"]
                );
                self.out.write_all(text.as_bytes()).map_err(stdout_error)?;
            }
            ProtocolFormat::Csv => {
                let w = self.csv.as_mut().expect("csv writer");
                w.flush().map_err(stdout_error)?;
            }
            ProtocolFormat::Ndjson => {}
        }
        self.out.flush().map_err(stdout_error)
    }
}

const CSV_COLUMNS: [&str; 9] = [
    "id",
    "at",
    "actor",
    "action",
    "branch_id",
    "guest_id",
    "guest_type",
    "run_id",
    "details",
];

fn opt(v: Option<i64>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// A protocol row as CSV cells, none of which a spreadsheet runs as a
/// formula (an `--actor` label is free text).
fn csv_row(r: &protocol::Row) -> [String; 9] {
    [
        r.id.to_string(),
        r.at.to_rfc3339(),
        r.actor.clone(),
        r.action.to_string(),
        opt(r.branch_id),
        opt(r.guest_id),
        r.guest_type.map(|t| t.to_string()).unwrap_or_default(),
        opt(r.run_id),
        r.details.to_string(),
    ]
    .map(csv_cell)
}

fn table_row(r: &protocol::Row) -> Vec<String> {
    let dash = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_else(|| "-".to_string());
    vec![
        r.id.to_string(),
        time(Some(r.at)),
        r.actor.clone(),
        r.action.to_string(),
        dash(r.branch_id),
        dash(r.guest_id),
        r.guest_type
            .map_or_else(|| "-".to_string(), |t| t.to_string()),
        dash(r.run_id),
        r.details.to_string(),
    ]
}
