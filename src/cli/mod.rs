//! The command line: clap definitions ([`args`]), one [`Context`] built
//! once, and thin handlers per command family (parse → call the core →
//! print). Hints for people ("run `retentiond …`") are rendered here from
//! the data and errors the core returns.

mod admin;
mod args;
mod demo;
mod docs;
mod errors;
mod gdpr;
mod ledger;
mod mail;
mod man;
mod output;
mod report;
mod run;
mod status;
mod values;
mod verify;
mod yearly;

use std::sync::Arc;

pub use args::*;
pub use docs::without_settings;
pub use errors::{error_json, usage_json, wants_json};
pub use man::synopses;

use crate::clock::SystemClock;
use crate::error::{Error, Refusal, Result};
use crate::settings::Settings;
use crate::shutdown::Shutdown;

/// What every handler works with: the core's context (settings, pool,
/// clock); a handler that runs long adds progress and a stop signal.
pub use crate::retention::Context;

/// Runs a parsed command with validated settings.
pub async fn run(cli: Cli, settings: Settings) -> Result<()> {
    let cx = Context::new(settings, Arc::new(SystemClock))?;
    let records = !matches!(
        cli.command,
        Command::Serve
            | Command::CheckConfig { .. }
            | Command::Man { .. }
            | Command::Completions { .. }
    );
    let done = dispatch(&cx, cli).await;
    // a command that sealed rows records the newest seal before it exits
    if records && matches!(done, Ok(()) | Err(Error::Attention(_))) {
        crate::retention::ledger::sync::record_after_command(&cx).await;
    }
    done
}

async fn dispatch(cx: &Context, cli: Cli) -> Result<()> {
    let cx = cx.clone();
    let now = cx.now();
    match cli.command {
        Command::CheckConfig { quiet: true, .. } => Ok(()),
        Command::CheckConfig { out, .. } => admin::check_config(&cx, out.format),
        Command::Man { .. } | Command::Completions { .. } => {
            docs::without_settings(&cli.command).unwrap_or(Ok(()))
        }
        Command::Migrate { out } => admin::migrate(&cx, out.format).await,
        Command::Grant { role, out } => admin::grant(&cx, &role, out.format).await,
        Command::DemoData(args) => demo::demo_data(&cx, &args).await,
        Command::Policy(cmd) => admin::policy(&cx, cmd).await,
        Command::Settings(cmd) => admin::branch_settings(&cx, cmd).await,
        Command::Classify(args) => report::classify(&cx, &args, args.at.unwrap_or(now)).await,
        Command::Pending(args) => report::pending(&cx, &args, args.at.unwrap_or(now)).await,
        Command::Protocol(ProtocolArgs {
            command:
                Some(ProtocolCommand::Verify {
                    seal,
                    ledger,
                    format,
                }),
            ..
        }) => verify::verify(&cx, seal.as_ref(), ledger.as_deref(), format).await,
        Command::Protocol(args) => report::protocol(&cx, &args).await,
        Command::Run(args) => run::run(&cx, &args).await,
        Command::Export(args) => gdpr::export(&cx, &args).await,
        Command::Erasure(cmd) => gdpr::erasure(&cx, &cmd).await,
        Command::Hold(cmd) => gdpr::hold(&cx, &cmd).await,
        Command::Columns(cmd) => admin::columns(&cx, &cmd).await,
        Command::Pause {
            branch,
            reason,
            until,
            actor,
            out,
        } => run::pause(&cx, branch, &reason, until, &actor.resolve(), out.format).await,
        Command::Resume { branch, actor, out } => {
            run::resume(&cx, branch, &actor.resolve(), out.format).await
        }
        Command::Report(args) => yearly::report(&cx, &args).await,
        Command::Replay {
            dry_run,
            confirm_restore,
            actor,
            out,
        } => {
            use crate::retention::ledger::sync::Mode;
            let mode = if confirm_restore {
                Mode::Confirmed
            } else {
                Mode::Acknowledge
            };
            ledger::replay(&cx, dry_run, mode, &actor.resolve(), out.format).await
        }
        Command::Status { format } => status::status(&cx, format).await,
        Command::Notify(cmd) => mail::notify(&cx, &cmd).await,
        Command::Outbox(args) => mail::outbox(&cx, &args.into_command()).await,
        Command::MailTest { to, out } => mail::mail_test(&cx, &to, out.format).await,
        Command::Serve => {
            let shutdown = Shutdown::on_signals();
            crate::schedule::serve(cx.with_stop(shutdown.token().clone()), cli.config.clone()).await
        }
    }
}

/// The error as printed: the message, and where the core refused something,
/// what to do about it.
pub fn describe(e: &Error) -> String {
    let hint = match e {
        Error::Refused(Refusal::UnknownBranch(_)) => {
            ": `retentiond policy show` lists the branches".to_string()
        }
        Error::Refused(Refusal::UnknownRequest(_)) => {
            ": see `retentiond erasure list --all`".to_string()
        }
        Error::Refused(Refusal::OpenRequest(_)) => ": see `retentiond erasure list`".to_string(),
        Error::Refused(Refusal::NoPeriod(b)) => format!(
            ": set one with `retentiond policy set --branch {b} --type TYPE --period '3 years'`"
        ),
        Error::Refused(Refusal::FourEyes(_)) => {
            " (logged in as another database role; `retentiond erasure withdraw` takes back \
             one's own request)"
                .to_string()
        }
        Error::Tampered(_) => {
            ". Keep the database as it is for the audit; the database server's log and its \
             backups show who changed what, and seals from earlier completed-run mails \
             (`protocol verify --seal`) show up to where the protocol can be trusted"
                .to_string()
        }
        _ => String::new(),
    };
    format!("{e}{hint}")
}

fn invalid(msg: impl Into<String>) -> Error {
    Error::Invalid(msg.into())
}
