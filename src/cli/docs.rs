//! `man` and `completions`: generated from the clap definitions, so they
//! list every command, option and allowed value. They need no settings.

use std::io::Write;

use clap::CommandFactory;

use super::{Cli, Command};
use crate::error::{Error, Result};

/// Runs `man` or `completions`; `None` for every other command.
pub fn without_settings(command: &Command) -> Option<Result<()>> {
    match command {
        Command::Man { dir } => Some(man(dir.as_deref())),
        Command::Completions { shell } => Some(completions(*shell)),
        _ => None,
    }
}

fn man(dir: Option<&std::path::Path>) -> Result<()> {
    if let Some(dir) = dir {
        return clap_mangen::generate_to(Cli::command(), dir).map_err(|e| {
            Error::io(
                format!("cannot write the manual pages into {}", dir.display()),
                e,
            )
        });
    }
    let mut page = Vec::new();
    let io = |e| Error::io("cannot write the manual page", e);
    clap_mangen::Man::new(Cli::command())
        .render(&mut page)
        .map_err(io)?;
    std::io::stdout().lock().write_all(&page).map_err(io)
}

fn completions(shell: clap_complete::Shell) -> Result<()> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "retentiond", &mut script);
    std::io::stdout()
        .lock()
        .write_all(&script)
        .map_err(|e| Error::io("cannot write the completion script", e))
}
