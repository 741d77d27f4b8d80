//! `export` and `erasure`: answers to data subject requests.

use super::output::{print_json, time, Table};
use super::{Context, ErasureCommand, ExportArgs, Format};
use crate::db;
use crate::error::Result;
use crate::retention::{erasure, export};
use crate::shutdown::Shutdown;

pub async fn export(cx: &Context, args: &ExportArgs) -> Result<()> {
    let mut client = cx.client().await?;
    // Ctrl-C or SIGTERM cancels the export's statement; the temporary file
    // is removed and nothing is handed out
    let shutdown = Shutdown::on_signals();
    let token = client.cancel_token();
    let actor = args.actor.resolve();
    let work = export::export(
        &mut client,
        args.guest,
        &args.out,
        args.force,
        &cx.settings.gdpr.trade_secrets,
        &actor,
    );
    let report = db::stoppable(token, shutdown.token(), work).await?;
    println!(
        "export of guest {} written to {}",
        args.guest,
        report.path.display()
    );
    for (file, rows) in &report.rows {
        println!("  {file}: {rows} row(s)");
    }
    println!("  invoice PDFs: {}", report.pdfs);
    if !report.withheld.is_empty() {
        println!(
            "  withheld as trade secrets: {}",
            report.withheld.join(", ")
        );
    }
    Ok(())
}

pub async fn erasure(cx: &Context, cmd: &ErasureCommand) -> Result<()> {
    let mut client = cx.client().await?;
    let now = cx.clock.now();
    match cmd {
        ErasureCommand::Request {
            guest,
            reason,
            actor,
        } => {
            let id = erasure::request(&mut client, *guest, reason, &actor.resolve(), now).await?;
            println!(
                "erasure request {id} recorded for guest {guest}; its newsletter has ended. \
                 A second person approves it with: retentiond erasure approve --request {id} \
                 --actor NAME"
            );
        }
        ErasureCommand::List { all, format } => {
            let requests = erasure::list(&client, *all, now).await?;
            match format {
                Format::Json => print_json(&requests)?,
                Format::Table => {
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
                            r.status.clone(),
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
            }
        }
        ErasureCommand::Approve { request, actor } => {
            let a = erasure::approve(&mut client, *request, &actor.resolve(), now).await?;
            println!(
                "erasure request {request} approved: guest {} anonymized",
                a.guest_id
            );
            if a.fiscal_erased {
                println!("  its fiscal data was erased as well (fiscal deadline passed)");
            } else if a.fiscal_kept {
                println!("  its fiscal data (company, VAT id, invoice PDFs) stays until its fiscal deadline");
            }
        }
        ErasureCommand::Withdraw { request, actor } => {
            erasure::withdraw(&mut client, *request, &actor.resolve(), now).await?;
            println!("erasure request {request} withdrawn; no guest data was changed");
        }
        ErasureCommand::Reject {
            request,
            reason,
            actor,
        } => {
            erasure::reject(&mut client, *request, reason, &actor.resolve(), now).await?;
            println!("erasure request {request} rejected; no guest data was changed");
        }
    }
    Ok(())
}
