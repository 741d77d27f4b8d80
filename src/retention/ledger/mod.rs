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
pub mod sync;

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::db::ledger::StoredSeal;
use crate::error::{Error, Result};
use crate::retention::seals::Breach;
use crate::retention::Context;
pub use file::{Entry, Erasure, Restore, SealSeen};

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

    /// The positions the comparison reads from the database.
    pub fn positions(&self) -> Vec<i64> {
        let mut p: Vec<i64> = self.active.keys().copied().collect();
        if let Some((_, f)) = &self.first {
            p.push(f.pos);
        }
        p
    }
}

/// How the database stands to the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "standing", rename_all = "snake_case")]
pub enum Standing {
    /// The ledger holds no seal yet.
    Empty,
    /// Every seal of the ledger is the database's (the database may be ahead).
    Agrees {
        /// The ledger's newest seal.
        newest: i64,
    },
    /// The database's chain agrees with the ledger up to `base` and lacks
    /// the ledger's newer seals (or has others, written after them): a
    /// backup restored, or the protocol rewound.
    Behind {
        /// The last seal both agree on.
        base: i64,
        /// The first seal missing.
        from: i64,
        /// The last.
        to: i64,
        /// When the first of them was seen.
        first_seen: DateTime<Utc>,
        /// When the last was seen.
        last_seen: DateTime<Utc>,
    },
    /// The database holds another seal at a position the ledger saw, with
    /// rows older than the ledger's seal: the protocol was rewritten.
    Rewritten {
        /// The position.
        pos: i64,
        /// When the ledger saw its seal there.
        seen_at: DateTime<Utc>,
        /// The ledger's line.
        line: u64,
    },
    /// The database holds another seal where the ledger's first is: another
    /// database.
    Foreign {
        /// The ledger's first seal.
        pos: i64,
        /// Its line.
        line: u64,
    },
}

/// Compares the ledger with the database's seals at the ledger's positions.
/// `here` is where the database is now: another first seal in the very
/// database (cluster and oid) the ledger saw it in is a rewrite, not
/// another database.
pub fn standing(
    state: &State,
    db: &std::collections::HashMap<i64, StoredSeal>,
    here: &file::Place,
) -> Standing {
    let Some((first_line, first)) = &state.first else {
        return Standing::Empty;
    };
    let same = |s: &SealSeen| db.get(&s.pos).is_some_and(|d| file::hex(&d.hash) == s.hash);
    if db.contains_key(&first.pos) && !same(first) {
        if first.place.database_oid.is_some() && first.place == *here {
            return Standing::Rewritten {
                pos: first.pos,
                seen_at: first.seen_at,
                line: *first_line,
            };
        }
        return Standing::Foreign {
            pos: first.pos,
            line: *first_line,
        };
    }
    let last_seen = state.newest().map(|s| s.seen_at);
    for (pos, (line, seal)) in &state.active {
        if same(seal) {
            continue;
        }
        let base = state
            .active
            .range(..*pos)
            .next_back()
            .map_or(0, |(p, _)| *p);
        let behind = Standing::Behind {
            base,
            from: *pos,
            to: state.newest().map_or(*pos, |s| s.pos),
            first_seen: seal.seen_at,
            last_seen: last_seen.unwrap_or(seal.seen_at),
        };
        return match db.get(pos) {
            // a database without the ledger's first seal (restored from a
            // dump taken before it) is behind all of it
            None => behind,
            // a seal written after the restore holds only rows newer than
            // anything the ledger saw
            Some(d) if d.first_at.zip(last_seen).is_some_and(|(a, l)| a > l) => behind,
            Some(_) => Standing::Rewritten {
                pos: *pos,
                seen_at: seal.seen_at,
                line: *line,
            },
        };
    }
    Standing::Agrees {
        newest: state.newest().map_or(0, |s| s.pos),
    }
}

impl Standing {
    /// What is wrong, in words; `None` when nothing is.
    pub fn problem(&self, path: &Path) -> Option<String> {
        let at = |t: &DateTime<Utc>| t.format("%Y-%m-%d %H:%M:%S UTC").to_string();
        match self {
            Standing::Empty | Standing::Agrees { .. } => None,
            Standing::Behind {
                from,
                to,
                last_seen,
                ..
            } => Some(format!(
                "the database is behind the ledger: seals {from}–{to}, last seen {}, are missing \
                 (a backup restored, or the protocol rewound)",
                at(last_seen)
            )),
            Standing::Rewritten { pos, seen_at, line } => Some(format!(
                "the protocol was rewound or rewritten after {}: seal {pos} (ledger line {line}) \
                 is not the one the ledger saw",
                at(seen_at)
            )),
            Standing::Foreign { pos, line } => Some(format!(
                "the ledger {} belongs to another database: its first seal (position {pos}, line \
                 {line}) is not this database's; set ledger.path to this database's ledger",
                path.display()
            )),
        }
    }

    /// The error for a ledger of another database.
    pub fn refuse_foreign(&self, path: &Path) -> Result<()> {
        match self {
            Standing::Foreign { .. } => Err(Error::Invalid(self.problem(path).unwrap_or_default())),
            _ => Ok(()),
        }
    }
}

/// How the database stands to a ledger read from a file.
pub async fn standing_of(cx: &Context, state: &State) -> Result<Standing> {
    let client = cx.client().await?;
    let seals = crate::db::ledger::seals_at(&client, &state.positions()).await?;
    let here = crate::db::ledger::place(&client).await?.as_seen();
    Ok(standing(state, &seals, &here))
}

/// The first `erasure_replayed` row whose approval the ledger does not hold.
pub async fn unknown_replay(cx: &Context, state: &State) -> Result<Option<Breach>> {
    let client = cx.client().await?;
    let rows = crate::db::ledger::replays(&client).await?;
    Ok(rows.into_iter().find_map(|(row_id, request, seal)| {
        let held = request
            .zip(seal)
            .is_some_and(|(r, s)| state.has_erasure(r, &s));
        (!held).then_some(Breach::ReplayNotInLedger { row_id, request })
    }))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::retention::ledger::file::Place;

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap()
    }

    fn seal(pos: i64, byte: u8) -> Entry {
        Entry::Seal(SealSeen {
            pos,
            row_id: pos,
            hash: file::hex(&[byte; 32]),
            seen_at: t(pos * 100),
            place: Place::default(),
        })
    }

    fn db(seals: &[(i64, u8, i64)]) -> HashMap<i64, StoredSeal> {
        seals
            .iter()
            .map(|&(pos, byte, at)| {
                let s = StoredSeal {
                    pos,
                    hash: vec![byte; 32],
                    row_id: Some(pos),
                    first_at: Some(t(at)),
                };
                (pos, s)
            })
            .collect()
    }

    fn standing_here(s: &State, db: &HashMap<i64, StoredSeal>) -> Standing {
        standing(s, db, &Place::default())
    }

    fn state(entries: Vec<Entry>) -> State {
        let lines: Vec<(u64, Entry)> = entries.into_iter().zip(1..).map(|(e, n)| (n, e)).collect();
        State::from_entries(&lines)
    }

    #[test]
    fn a_database_ahead_of_the_ledger_agrees() {
        let s = state(vec![seal(1, 1), seal(5, 5)]);
        assert_eq!(
            standing_here(&s, &db(&[(1, 1, 0), (5, 5, 500), (6, 6, 600)])),
            Standing::Agrees { newest: 5 }
        );
    }

    #[test]
    fn missing_newest_seals_are_behind() {
        let s = state(vec![seal(1, 1), seal(5, 5), seal(9, 9)]);
        let got = standing_here(&s, &db(&[(1, 1, 0), (5, 5, 500)]));
        assert!(
            matches!(
                got,
                Standing::Behind {
                    base: 5,
                    from: 9,
                    to: 9,
                    ..
                }
            ),
            "{got:?}"
        );
    }

    #[test]
    fn other_seals_with_newer_rows_are_behind_and_with_older_rows_rewritten() {
        let s = state(vec![seal(1, 1), seal(5, 5), seal(9, 9)]);
        // written after the restore: rows newer than the ledger's last seal
        let restored = standing_here(&s, &db(&[(1, 1, 0), (5, 50, 2000)]));
        assert!(matches!(
            restored,
            Standing::Behind {
                base: 1,
                from: 5,
                to: 9,
                ..
            }
        ));
        let rewritten = standing_here(&s, &db(&[(1, 1, 0), (5, 50, 400), (9, 9, 900)]));
        assert!(matches!(
            rewritten,
            Standing::Rewritten {
                pos: 5,
                line: 2,
                ..
            }
        ));
    }

    #[test]
    fn another_first_seal_is_another_database() {
        let s = state(vec![seal(1, 1), seal(5, 5)]);
        assert_eq!(
            standing_here(&s, &db(&[(1, 7, 0), (5, 5, 500)])),
            Standing::Foreign { pos: 1, line: 1 }
        );
    }

    #[test]
    fn another_first_seal_where_the_ledger_saw_it_is_a_rewrite() {
        let here = Place {
            system_identifier: Some("7".into()),
            database_oid: Some(16384),
            database: Some("guests".into()),
        };
        let mut first = seal(1, 1);
        if let Entry::Seal(s) = &mut first {
            s.place = here.clone();
        }
        let s = state(vec![first, seal(5, 5)]);
        let got = standing(&s, &db(&[(1, 7, 0), (5, 5, 500)]), &here);
        assert!(
            matches!(
                got,
                Standing::Rewritten {
                    pos: 1,
                    line: 1,
                    ..
                }
            ),
            "{got:?}"
        );
    }

    #[test]
    fn after_a_restore_the_ledger_goes_on_from_its_base() {
        let restore = Entry::Restore(Restore {
            base_pos: 5,
            missing_from: 9,
            missing_to: 9,
            last_seen: t(900),
            found_at: t(1000),
        });
        let s = state(vec![
            seal(1, 1),
            seal(5, 5),
            seal(9, 9),
            restore,
            seal(7, 77),
        ]);
        assert_eq!(
            standing_here(&s, &db(&[(1, 1, 0), (5, 5, 500), (7, 77, 1000)])),
            Standing::Agrees { newest: 7 }
        );
        assert_eq!(s.restores.len(), 1);
    }
}
