//! Composition root: parse the command line, load and validate settings,
//! initialise logging, dispatch.

use std::process::ExitCode;

use clap::Parser;
use retentiond::cli::Cli;
use retentiond::settings::Settings;
use retentiond::telemetry;

fn main() -> ExitCode {
    // with --format json, errors are one JSON object on stderr too
    let json = retentiond::cli::wants_json(std::env::args_os());
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if json && e.use_stderr() => {
            eprintln!("{}", retentiond::cli::usage_json(&e));
            return ExitCode::from(2);
        }
        Err(e) => e.exit(),
    };
    let fail = |e: &retentiond::Error| {
        if json {
            eprintln!("{}", retentiond::cli::error_json(e));
        } else {
            eprintln!("error: {}", retentiond::cli::describe(e));
        }
        ExitCode::from(e.exit_code())
    };
    if let Some(done) = retentiond::cli::without_settings(&cli.command) {
        return match done {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(&e),
        };
    }
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            telemetry::init_fallback();
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
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(retentiond::cli::run(cli, settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e @ retentiond::Error::Attention(_)) => ExitCode::from(e.exit_code()),
        Err(e) => fail(&e),
    }
}
