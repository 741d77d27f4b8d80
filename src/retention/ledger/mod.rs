//! The ledger: memory outside the database. An append-only file
//! (`ledger.path`, [`file`]) that remembers every seal of the protocol's
//! chain a process saw and every approved erasure, so that a protocol
//! rewound (rows and seals deleted, the head set back) fails `protocol
//! verify`, and a backup restored is found and the erasures it lost are
//! applied again ([`replay`]).
//!
//! Which database a ledger belongs to is told by the protocol itself: the
//! ledger's first seal is the database's seal at that position (a restore
//! into a new database or cluster is the same database). The ledger's
//! seals after a restore are kept as history; it goes on from the
//! database's chain.

pub mod file;
pub mod replay;
mod standing;
pub mod sync;

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::Result;
use crate::retention::seals::Breach;
use crate::retention::Context;
pub use file::{Entry, Erasure, Restore, SealSeen};
pub use standing::{standing, Standing};

/// A ledger's content, as it bears on the database.
#[derive(Debug, Default)]
pub struct State {
    /// The seals the database should have: the newest entry per position
    /// since the last restore (and those before it up to its base).
    pub active: BTreeMap<i64, (u64, SealSeen)>,
    /// The ledger's first seal and its line: names the database.
    pub first: Option<(u64, SealSeen)>,
    /// Every approved erasure, with its line.
    pub erasures: Vec<(u64, Erasure)>,
    /// Every restore found, with its line.
    pub restores: Vec<(u64, Restore)>,
}

impl State {
    /// Folds the lines.
    pub fn from_entries(entries: &[(u64, Entry)]) -> State {
        let mut state = State::default();
        for (n, entry) in entries {
            match entry {
                Entry::Seal(s) => {
                    state.first.get_or_insert((*n, s.clone()));
                    state.active.insert(s.pos, (*n, s.clone()));
                }
                Entry::Erasure(e) => state.erasures.push((*n, e.clone())),
                Entry::Restore(r) => {
                    state.active.retain(|pos, _| *pos <= r.base_pos);
                    // a restore from before the ledger's first seal: the
                    // database is named by its next one
                    if state
                        .first
                        .as_ref()
                        .is_some_and(|(_, f)| f.pos > r.base_pos)
                    {
                        state.first = None;
                    }
                    state.restores.push((*n, r.clone()));
                }
            }
        }
        state
    }

    /// Reads the ledger at `path`; `None` when there is none.
    pub fn read(path: &Path) -> Result<Option<State>> {
        Ok(file::read(path)?.map(|l| State::from_entries(&l.entries)))
    }

    /// The newest seal the database should have.
    pub fn newest(&self) -> Option<&SealSeen> {
        self.active.values().next_back().map(|(_, s)| s)
    }

    /// Whether the ledger holds this approval already.
    pub fn has_erasure(&self, request: i64, seal_hash: &str) -> bool {
        self.erasures
            .iter()
            .any(|(_, e)| e.request == request && e.seal_hash == seal_hash)
    }

    /// Whether an `erasure_replayed` row replays an approval of the
    /// ledger: the same request, guest and covering seal.
    pub fn holds_replay(&self, row: &crate::db::ledger::ReplayRow) -> bool {
        self.erasures.iter().any(|(_, e)| {
            Some(e.request) == row.request
                && Some(e.guest) == row.guest
                && Some(e.seal_pos) == row.seal_pos
                && Some(&e.seal_hash) == row.seal_hash.as_ref()
        })
    }

    /// Whether the ledger recorded a restore of this missing range.
    pub fn has_restore(&self, from: Option<i64>, to: Option<i64>) -> bool {
        self.restores
            .iter()
            .any(|(_, r)| Some(r.missing_from) == from && Some(r.missing_to) == to)
    }

    /// The positions the comparison reads from the database.
    pub fn positions(&self) -> Vec<i64> {
        let mut p: Vec<i64> = self.active.keys().copied().collect();
        if let Some((_, f)) = &self.first {
            p.push(f.pos);
        }
        p
    }
}

/// How the database stands to a ledger read from a file.
pub async fn standing_of(cx: &Context, state: &State) -> Result<Standing> {
    let client = cx.client().await?;
    Ok(sync::look(&client, state, sync::Mode::Record).await?.0)
}

/// What the protocol's replays and restores show against the ledger: the
/// first `erasure_replayed` row whose approval (request, guest, seal) the
/// ledger does not hold, else the first restore the ledger recorded (the
/// seals it lost stay lost); and the `restore_detected` rows this ledger
/// did not record (another ledger's, or a login's).
pub async fn against_protocol(cx: &Context, state: &State) -> Result<(Option<Breach>, Vec<i64>)> {
    let client = cx.client().await?;
    let replays = crate::db::ledger::replays(&client).await?;
    let restores = crate::db::ledger::restores(&client).await?;
    let unknown = replays.iter().find(|r| !state.holds_replay(r));
    let breach = match unknown {
        Some(r) => Some(Breach::ReplayNotInLedger {
            row_id: r.row_id,
            request: r.request,
        }),
        None => state.restores.first().map(|(line, r)| Breach::SealsLost {
            from: r.missing_from,
            to: r.missing_to,
            last_seen: r.last_seen,
            found_at: r.found_at,
            line: *line,
        }),
    };
    let foreign = restores
        .iter()
        .filter(|(_, _, from, to)| !state.has_restore(*from, *to))
        .map(|(id, ..)| *id)
        .collect();
    Ok((breach, foreign))
}
