//! Replay: every approved erasure of the ledger whose guest the database
//! shows with personal data again (a backup from before the approval was
//! restored) is applied again, exactly as the approval did, with an
//! `erasure_replayed` row naming the request and the seal that covered it.
//! The decision was taken: the request is not asked again. A guest the
//! database no longer has is reported; one blocked now (a legal hold, a
//! reservation to come) or paused is reported and tried again next time.

use std::collections::BTreeMap;

use serde::Serialize;

use super::State;
use crate::db::ledger::{self as q, Replay};
use crate::error::{Error, Result};
use crate::retention::Context;

/// What happened to one erasure of the ledger.
#[derive(Debug, Clone, Serialize)]
pub struct Replayed {
    /// The request.
    pub request: i64,
    /// The guest.
    pub guest: i64,
    /// The seal that covered the approval.
    pub seal: i64,
    /// `replayed`, `would_replay`, `missing` (no such guest), `replaced`
    /// (the id belongs to another guest now: not the mark the ledger
    /// recorded with the approval), or what
    /// stopped it (`blocked: …`, `refused: …`).
    pub outcome: String,
}

/// Replays what the database lost; with `dry_run`, lists it only. Only
/// erasures that a restore this ledger recorded lost are replayed (sealed
/// in its missing range, decided before its last seal was seen): never on
/// the word of a protocol row alone. Erasures whose guest is anonymized
/// already are left out.
pub async fn replay(
    cx: &Context,
    state: &State,
    dry_run: bool,
    actor: &str,
) -> Result<Vec<Replayed>> {
    // one per guest and request: the newest line wins
    let mut wanted: BTreeMap<(i64, i64), &super::Erasure> = BTreeMap::new();
    let lost = |e: &super::Erasure| {
        state.restores.iter().any(|(_, r)| {
            (r.missing_from..=r.missing_to).contains(&e.seal_pos) && e.decided_at <= r.last_seen
        })
    };
    for (_, e) in state.erasures.iter().filter(|(_, e)| lost(e)) {
        wanted.insert((e.request, e.guest), e);
    }
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let client = cx.client().await?;
    let ids: Vec<i64> = wanted.keys().map(|(_, g)| *g).collect();
    let left = q::guests_left(&client, &ids).await?;
    let mut done = Vec::new();
    for e in wanted.values() {
        let outcome = match left.get(&e.guest) {
            None => "missing".to_string(),
            Some(g) if !g.present => "missing".to_string(),
            Some(g) if !g.personal => continue,
            // a new guest that took the id again (the restore set it back)
            Some(g)
                if e.guest_mark.is_some()
                    && super::file::guest_mark(e.guest, g.created_at) != e.guest_mark =>
            {
                "replaced".to_string()
            }
            Some(_) if dry_run => "would_replay".to_string(),
            Some(_) => {
                let r = Replay {
                    request: e.request,
                    guest: e.guest,
                    seal_pos: e.seal_pos,
                    seal_hash: &e.seal_hash,
                    requested_login: e.requested_login.as_deref(),
                    approved_login: e.approved_login.as_deref(),
                    decided_at: e.decided_at,
                };
                match q::replay(&client, &r, actor).await {
                    Ok(outcome) if outcome == "already" => continue,
                    Ok(outcome) => outcome,
                    Err(e @ Error::Db { .. }) => format!("refused: {}", refusal(&e)),
                    Err(e) => return Err(e),
                }
            }
        };
        done.push(Replayed {
            request: e.request,
            guest: e.guest,
            seal: e.seal_pos,
            outcome,
        });
    }
    Ok(done)
}

/// A refusal of our own (SQLSTATE RT…) in its words, which name ids only;
/// any other database error by its SQLSTATE.
fn refusal(e: &Error) -> String {
    match e {
        Error::Db { source, .. } => source
            .as_db_error()
            .filter(|d| d.code().code().starts_with("RT"))
            .map(|d| d.message().to_string())
            .unwrap_or_else(|| e.for_records()),
        _ => e.for_records(),
    }
}
