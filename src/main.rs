//! Composition root: parse the command line, load and validate settings,
//! initialise logging, dispatch.

use std::process::ExitCode;

use clap::Parser;
use retentiond::cli::Cli;
use retentiond::settings::Settings;
use retentiond::telemetry;

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(done) = retentiond::cli::without_settings(&cli.command) {
        return match done {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(e.exit_code())
            }
        };
    }
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            telemetry::init_fallback();
            eprintln!("error: {e}");
            return ExitCode::from(e.exit_code());
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
        Err(e) => {
            eprintln!("error: {}", retentiond::cli::describe(&e));
            ExitCode::from(e.exit_code())
        }
    }
}
