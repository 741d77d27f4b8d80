//! `protocol verify`: the hash chain checked, against the ledger where
//! there is one, the verdict printed. The verdict vouches for rows only up
//! to a seal that matched a published one or the ledger's.

use std::path::Path;

use serde_json::json;

use super::output::print_json;
use super::{Context, Format};
use crate::error::{Error, Result};
use crate::model::Seal;
use crate::retention::ledger::{self, State};
use crate::retention::seals::{self, Verdict, Witnessed};

pub async fn verify(
    cx: &Context,
    published: Option<&Seal>,
    ledger_path: Option<&Path>,
    format: Format,
) -> Result<()> {
    let (witnessed, ledger_state, ledger_note) = match super::ledger::for_verify(cx, ledger_path)? {
        Ok((w, state)) => {
            let path = ledger_path.unwrap_or(&cx.settings.ledger.path);
            let standing = ledger::standing_of(cx, &state).await?;
            // none of the ledger's seals: possibly a protocol emptied
            if let ledger::Standing::Unproven { .. } = standing {
                return Err(Error::Tampered(standing.problem(path).unwrap_or_default()));
            }
            standing.refuse_foreign(path)?;
            (w, Some(state), None)
        }
        Err(why) => (Witnessed::new(), None, Some(why)),
    };
    let mut client = cx.client().await?;
    let mut verdict = seals::verify(&mut client, published, &witnessed).await?;
    drop(client);
    let mut foreign_restores = Vec::new();
    if let Some(state) = &ledger_state {
        let (breach, foreign) = ledger::against_protocol(cx, state).await?;
        foreign_restores = foreign;
        if verdict.breach.is_none() {
            verdict.breach = breach;
            verdict.intact = verdict.breach.is_none();
            if !verdict.intact {
                verdict.newest = None;
            }
        }
    }
    let restores = ledger_state
        .as_ref()
        .map(|s| {
            s.restores
                .iter()
                .map(|(_, r)| r.clone())
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    match format {
        Format::Json => print_json(&json!({
            "intact": verdict.intact,
            "rows": verdict.rows,
            "seals": verdict.seals,
            "newest": verdict.newest,
            "confirmed": verdict.confirmed,
            "ledger_seals": verdict.ledger_seals,
            "ledger": ledger_note.is_none(),
            "restores": restores,
            "restore_rows_not_in_ledger": foreign_restores,
            "breach": verdict.breach,
        }))?,
        Format::Table => {
            if verdict.breach.is_none() {
                print_intact(&verdict, published);
            } else {
                print_breach(&verdict, published);
            }
            print_ledger(&verdict, ledger_state.as_ref(), ledger_note.as_deref());
            if !foreign_restores.is_empty() {
                println!(
                    "Protocol rows {:?} record a restore that this ledger did not: another \
                     ledger's (a second daemon), or a login's. Replays are checked one by one \
                     against this ledger.",
                    foreign_restores
                );
            }
        }
    }
    match verdict.breach {
        None => Ok(()),
        Some(breach) => Err(Error::Tampered(breach.to_string())),
    }
}

fn print_ledger(verdict: &Verdict, state: Option<&State>, note: Option<&str>) {
    let Some(state) = state else {
        println!(
            "Ledger: {}; the seals a ledger saw were not compared.",
            note.unwrap_or("none")
        );
        return;
    };
    let newest = state
        .newest()
        .map(|s| {
            format!(
                ", the newest seen {}",
                s.seen_at.format("%Y-%m-%d %H:%M UTC")
            )
        })
        .unwrap_or_default();
    println!(
        "Ledger: {} of its {} seal(s) checked{newest}.",
        verdict.ledger_seals,
        state.active.len()
    );
    for (line, r) in &state.restores {
        println!(
            "Restore found {} (ledger line {line}): seals {}–{} of the chain before it, the last \
             seen {}, were lost with it (or rewound: they look alike); the protocol records it \
             (restore_detected), and `protocol verify` reports them lost.",
            r.found_at.format("%Y-%m-%d %H:%M UTC"),
            r.missing_from,
            r.missing_to,
            r.last_seen.format("%Y-%m-%d %H:%M UTC"),
        );
    }
}

fn print_intact(verdict: &Verdict, published: Option<&Seal>) {
    println!(
        "The action protocol is intact: {} row(s) in {} seal(s) checked.",
        verdict.rows, verdict.seals
    );
    match published {
        Some(p) => println!("It carries the published seal of row {}.", p.row_id),
        None if verdict.ledger_seals > 0 => {}
        None => println!(
            "Checked against itself only: `protocol verify --seal ROW:HASH` with the seal of \
             an earlier completed-run mail also rules out a chain rewritten as a whole."
        ),
    }
    match &verdict.newest {
        Some(seal) => println!("Newest seal: {seal}"),
        None => println!("The protocol is empty: nothing is sealed yet."),
    }
}

fn print_breach(verdict: &Verdict, published: Option<&Seal>) {
    println!(
        "The action protocol is NOT intact: {} row(s) in {} seal(s) checked before the first \
         problem.",
        verdict.rows, verdict.seals
    );
    match (&verdict.confirmed, published) {
        (Some(seal), _) => println!(
            "Last good seal, checked against the published one: {seal}. The rows sealed up to \
             it are as they were when it was published."
        ),
        (None, Some(p)) => println!(
            "The published seal of row {} does not vouch for any row: the chain does not \
             reach it intact. No row can be taken as intact.",
            p.row_id
        ),
        (None, None) => println!(
            "No seal was checked against a published one, so no row can be taken as intact: \
             the seals before the problem hold in themselves only and may have been rewritten \
             too. Check with `protocol verify --seal ROW:HASH` and the seal of an earlier \
             completed-run mail."
        ),
    }
}
