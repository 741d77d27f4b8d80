//! Composition root: parse the command line, load and validate settings,
//! initialise logging, dispatch. Every error that ends the process is
//! reported through the logger (the journal at priority err, a JSON object
//! with `log.format = "json"`), as `error: …` on a terminal.

use std::process::ExitCode;

use clap::Parser;
use retentiond::cli::Cli;
use retentiond::settings::{LogSettings, Settings};
use retentiond::telemetry::{self, Sink};

fn main() -> ExitCode {
    retentiond::metrics::process::mark_start();
    // with --format json, errors are one JSON object on stderr too
    let json = retentiond::cli::wants_json(std::env::args_os());
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if json && e.use_stderr() => {
            eprintln!("{}", retentiond::cli::usage_json(&e));
            return ExitCode::from(2);
        }
        // a bad ExecStart= line: the journal says why the service failed
        Err(e) if e.use_stderr() && telemetry::init(&LogSettings::default()) == Sink::Journal => {
            telemetry::fatal(e.to_string().trim_end(), 2);
            return ExitCode::from(2);
        }
        Err(e) => e.exit(),
    };
    let fail = |e: &retentiond::Error| {
        // with --format json the JSON document is what stderr shows, as its
        // last line; the journal and a JSON log get the error as well
        if !json || telemetry::sink() != Some(Sink::Text) {
            telemetry::fatal(&retentiond::cli::describe(e), e.exit_code());
        }
        if json {
            eprintln!("{}", retentiond::cli::error_json(e));
        }
        ExitCode::from(e.exit_code())
    };
    if let Some(done) = retentiond::cli::without_settings(&cli.command) {
        telemetry::init(&LogSettings::default());
        return match done {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(&e),
        };
    }
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            telemetry::init(&Settings::log_for_errors(cli.config.as_deref()));
            return fail(&e);
        }
    };
    telemetry::init(&settings.log);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            telemetry::fatal(&format!("cannot start the async runtime: {e}"), 1);
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(retentiond::cli::run(cli, settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e @ retentiond::Error::Attention(_)) => ExitCode::from(e.exit_code()),
        Err(e) => fail(&e),
    }
}
