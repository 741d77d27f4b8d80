//! `export` and `erasure`: answers to data subject requests; `hold`: legal
//! holds that keep guests from being anonymized.

use serde_json::json;

use super::output::{emit, print_json, time, Table};
use super::{Context, ErasureCommand, ExportArgs, Format, HoldCommand};
use crate::error::Result;
use crate::retention::{erasure, export, holds};
use crate::shutdown::Shutdown;

pub async fn export(cx: &Context, args: &ExportArgs) -> Result<()> {
    // Ctrl-C or SIGTERM cancels the export's statement; the temporary file
    // is removed and nothing is handed out
    let shutdown = Shutdown::on_signals();
    let cx = cx.clone().with_stop(shutdown.token().clone());
    let actor = args.actor.resolve();
    let report = export::export(&cx, args.guest, &args.out, args.force, &actor).await?;
    let doc = json!({
        "guest_id": args.guest,
        "path": report.path,
        "rows": report.rows.iter().cloned().collect::<std::collections::BTreeMap<_, _>>(),
        "invoice_pdfs": report.pdfs,
        "withheld": report.withheld,
    });
    emit(args.out_format.format, doc, || {
        let mut text = format!(
            "export of guest {} written to {}",
            args.guest,
            report.path.display()
        );
        for (file, rows) in &report.rows {
            text.push_str(&format!("\n  {file}: {rows} row(s)"));
        }
        text.push_str(&format!("\n  invoice PDFs: {}", report.pdfs));
        if !report.withheld.is_empty() {
            text.push_str(&format!(
                "\n  withheld as trade secrets: {}",
                report.withheld.join(", ")
            ));
        }
        text
    })
}

pub async fn erasure(cx: &Context, cmd: &ErasureCommand) -> Result<()> {
    let mut client = cx.client().await?;
    let now = cx.clock.now();
    match cmd {
        ErasureCommand::Request {
            guest,
            reason,
            actor,
            out,
        } => {
            let id = erasure::request(&mut client, *guest, reason, &actor.resolve()).await?;
            emit(
                out.format,
                json!({"request_id": id, "guest_id": guest, "status": "open"}),
                || {
                    format!(
                        "erasure request {id} recorded for guest {guest}; its newsletter has \
                         ended. A second person approves it with: retentiond erasure approve \
                         --request {id} --actor NAME"
                    )
                },
            )?;
        }
        ErasureCommand::List { all, format } => {
            let requests = erasure::list(&client, *all, now).await?;
            match format {
                Format::Json => print_json(&requests)?,
                Format::Table => print_requests(&requests),
            }
        }
        ErasureCommand::Approve {
            request,
            actor,
            out,
        } => {
            let a = erasure::approve(&mut client, *request, &actor.resolve(), now).await?;
            print_approved(out.format, *request, &a)?;
        }
        ErasureCommand::Withdraw {
            request,
            actor,
            out,
        } => {
            erasure::withdraw(&mut client, *request, &actor.resolve()).await?;
            emit(
                out.format,
                json!({"request_id": request, "status": "withdrawn"}),
                || format!("erasure request {request} withdrawn; no guest data was changed"),
            )?;
        }
        ErasureCommand::Reject {
            request,
            reason,
            actor,
            out,
        } => {
            erasure::reject(&mut client, *request, reason, &actor.resolve()).await?;
            emit(
                out.format,
                json!({"request_id": request, "status": "rejected"}),
                || format!("erasure request {request} rejected; no guest data was changed"),
            )?;
        }
    }
    Ok(())
}

fn print_requests(requests: &[erasure::Request]) {
    let mut t = Table::new(&[
        "REQUEST",
        "GUEST",
        "BRANCH",
        "STATUS",
        "REQUESTED",
        "BY",
        "DECIDED BY",
        "BLOCKERS",
    ]);
    for (r, blockers) in requests.iter().map(|r| (&r.row, &r.blockers)) {
        t.row(vec![
            r.id.to_string(),
            r.guest_id.to_string(),
            r.branch_id.to_string(),
            r.status.to_string(),
            time(Some(r.requested_at)),
            r.requested_by.clone(),
            r.decided_by.clone().unwrap_or_else(|| "-".into()),
            if blockers.is_empty() {
                "-".into()
            } else {
                blockers.join("; ")
            },
        ]);
    }
    if t.is_empty() {
        println!("no open erasure requests");
    } else {
        print!("{}", t.render());
    }
}

fn print_approved(format: Format, request: i64, a: &erasure::Approved) -> Result<()> {
    let doc = json!({"request_id": request, "status": "approved", "guest_id": a.guest_id,
                     "anonymized": true, "fiscal_erased": a.fiscal_erased,
                     "fiscal_kept": a.fiscal_kept});
    emit(format, doc, || {
        let mut text = format!(
            "erasure request {request} approved: guest {} anonymized",
            a.guest_id
        );
        if a.fiscal_erased {
            text.push_str("\n  its fiscal data was erased as well (fiscal deadline passed)");
        } else if a.fiscal_kept {
            text.push_str(
                "\n  its fiscal data (company, VAT id, invoice PDFs) stays until its \
                 fiscal deadline",
            );
        }
        text
    })
}

pub async fn hold(cx: &Context, cmd: &HoldCommand) -> Result<()> {
    let mut client = cx.client().await?;
    match cmd {
        HoldCommand::Add {
            guest,
            branch,
            reason,
            until,
            actor,
            out,
        } => {
            let target = match (guest, branch) {
                (Some(g), _) => holds::Target::Guest(*g),
                (None, Some(b)) => holds::Target::Branch(*b),
                (None, None) => unreachable!("clap requires --guest or --branch"),
            };
            let today = cx.now().date_naive();
            let id =
                holds::place(&mut client, target, reason, *until, &actor.resolve(), today).await?;
            let what = match target {
                holds::Target::Guest(g) => format!("guest {g}"),
                holds::Target::Branch(b) => format!("every guest of branch {b}"),
            };
            emit(
                out.format,
                json!({"hold_id": id, "guest_id": guest, "branch_id": branch, "until": until}),
                || {
                    format!(
                        "legal hold {id} placed: {what} is not anonymized until it is \
                         released (retentiond hold release --hold {id})"
                    )
                },
            )
        }
        HoldCommand::List { all, format } => {
            let list = holds::list(&client, *all).await?;
            match format {
                Format::Json => print_json(&list),
                Format::Table => {
                    print_holds(&list);
                    Ok(())
                }
            }
        }
        HoldCommand::Release { hold, actor, out } => {
            holds::release(&mut client, *hold, &actor.resolve()).await?;
            emit(
                out.format,
                json!({"hold_id": hold, "released": true}),
                || {
                    format!(
                        "legal hold {hold} released: its guests follow the normal rules again \
                         from the next run"
                    )
                },
            )
        }
    }
}

fn print_holds(list: &[holds::Hold]) {
    let mut t = Table::new(&[
        "HOLD", "GUEST", "BRANCH", "REASON", "UNTIL", "PLACED", "BY", "RELEASED",
    ]);
    for h in list {
        let dash = || "-".to_string();
        t.row(vec![
            h.id.to_string(),
            h.guest_id.map(|g| g.to_string()).unwrap_or_else(dash),
            h.branch_id.map(|b| b.to_string()).unwrap_or_else(dash),
            h.reason.clone(),
            h.until.map(|d| d.to_string()).unwrap_or_else(dash),
            time(Some(h.placed_at)),
            format!("{} ({})", h.placed_by, h.placed_login),
            h.released_at.map(|t| time(Some(t))).unwrap_or_else(dash),
        ]);
    }
    if t.is_empty() {
        println!("no legal holds in force");
    } else {
        print!("{}", t.render());
    }
}
