//! `man` and `completions`: generated from the clap definitions (and the
//! manual's settings page from the settings keys), so they list every
//! command, option, allowed value and setting. They need no settings.

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
    let pages = super::man::all();
    let Some(dir) = dir else {
        // the program's own page; the others name it
        let top = &pages[0];
        return std::io::stdout()
            .lock()
            .write_all(top.source.as_bytes())
            .map_err(|e| Error::io("cannot write the manual page", e));
    };
    for page in &pages {
        let section = dir.join(format!("man{}", page.section));
        let path = section.join(page.file_name());
        std::fs::create_dir_all(&section)
            .and_then(|()| std::fs::write(&path, &page.source))
            .map_err(|e| Error::io(format!("cannot write {}", path.display()), e))?;
    }
    Ok(())
}

fn completions(shell: clap_complete::Shell) -> Result<()> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "retentiond", &mut script);
    std::io::stdout()
        .lock()
        .write_all(&script)
        .map_err(|e| Error::io("cannot write the completion script", e))
}
