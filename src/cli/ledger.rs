//! `replay`, and the ledger as `protocol verify` and `status` read it.

use std::path::Path;

use serde_json::json;

use super::output::{print_json, Table};
use super::{Context, Format};
use crate::error::{Error, Result};
use crate::retention::ledger::replay::{self, Replayed};
use crate::retention::ledger::sync::{self, Mode};
use crate::retention::ledger::{Standing, State};
use crate::retention::seals::Witnessed;

/// `replay`: records a restore the database shows (not with `--dry-run`),
/// then applies again every approved erasure of the ledger the database
/// lost.
pub async fn replay(
    cx: &Context,
    dry_run: bool,
    mode: Mode,
    actor: &str,
    format: Format,
) -> Result<()> {
    let path = &cx.settings.ledger.path;
    let (standing, state) = if dry_run {
        let state = State::read(path)?.ok_or_else(|| no_ledger(path))?;
        sync::as_if_recorded(cx, state, mode).await?
    } else {
        let synced = sync::sync(cx, path, mode, actor).await?;
        (synced.standing, synced.state)
    };
    standing.refuse_foreign(path)?;
    if let Standing::Rewritten { .. } = standing {
        return Err(Error::Tampered(format!(
            "{}; nothing was replayed",
            standing.problem(path).unwrap_or_default()
        )));
    }
    let done = replay::replay(cx, &state, dry_run, actor).await?;
    // a dry run records nothing
    let restored = standing.problem(path).filter(|_| !dry_run);
    match format {
        Format::Json => print_json(&json!({
            "dry_run": dry_run,
            "restore_detected": restored,
            "erasures": done,
        }))?,
        Format::Table => print_table(&done, dry_run, restored.as_deref()),
    }
    let stuck = done
        .iter()
        .filter(|r| {
            !matches!(
                r.outcome.as_str(),
                "replayed" | "would_replay" | "missing" | "replaced"
            )
        })
        .count();
    if stuck > 0 {
        return Err(Error::Attention(stuck));
    }
    Ok(())
}

fn print_table(done: &[Replayed], dry_run: bool, restored: Option<&str>) {
    if let Some(r) = restored {
        println!("Recorded: {r}.");
    }
    if done.is_empty() {
        println!("Nothing to replay: every approved erasure of the ledger is in the database.");
        return;
    }
    let mut table = Table::new(&["request", "guest", "seal", "outcome"]);
    for r in done {
        table.row(vec![
            r.request.to_string(),
            r.guest.to_string(),
            r.seal.to_string(),
            r.outcome.clone(),
        ]);
    }
    print!("{}", table.render());
    if dry_run {
        println!("Dry run: nothing was changed. `retentiond replay` applies them.");
    }
}

fn no_ledger(path: &Path) -> Error {
    Error::Invalid(format!(
        "there is no ledger at {} (ledger.path): nothing to replay",
        path.display()
    ))
}

/// The ledger `protocol verify` checks against: `--ledger PATH` (which must
/// exist), else ledger.path when this process can read it. Returns the
/// seals it saw and the ledger itself, or `None` with why not.
pub fn for_verify(
    cx: &Context,
    given: Option<&Path>,
) -> Result<std::result::Result<(Witnessed, State), String>> {
    let path = given.unwrap_or(&cx.settings.ledger.path);
    let state = match State::read(path) {
        Ok(Some(state)) => state,
        Ok(None) if given.is_some() => return Err(no_ledger_file(path)),
        Ok(None) => return Ok(Err(format!("no ledger at {}", path.display()))),
        Err(Error::Io { source, .. })
            if given.is_none() && source.kind() == std::io::ErrorKind::PermissionDenied =>
        {
            return Ok(Err(format!(
                "the ledger {} is not readable by this user (run as the service user, or pass \
                 a copy with --ledger)",
                path.display()
            )))
        }
        Err(e) => return Err(e),
    };
    let witnessed = state
        .active
        .values()
        .map(|(_, s)| (s.pos, (s.hash.clone(), s.seen_at)))
        .collect();
    Ok(Ok((witnessed, state)))
}

fn no_ledger_file(path: &Path) -> Error {
    Error::Invalid(format!("--ledger {}: no such file", path.display()))
}
