//! How the database stands to the ledger: the seals it saw compared with
//! the database's at the same positions.

use std::path::Path;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{file, SealSeen, State};
use crate::db::ledger::StoredSeal;
use crate::error::{Error, Result};

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
        /// The first seal missing (the one after `base`).
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
    /// The database holds none of the ledger's seals (or only a chain
    /// begun after the ledger's newest) and is not provably where the
    /// ledger saw its first: another database, its protocol emptied, or a
    /// restore of a dump taken before the ledger began. Only the operator
    /// can tell (`replay --confirm-restore`).
    Unproven {
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
    let last_seen = state.newest().map(|s| s.seen_at);
    // a seal whose rows are all newer than anything the ledger saw was
    // written after the ledger last looked
    let newer = |d: &StoredSeal| d.first_at.zip(last_seen).is_some_and(|(a, l)| a > l);
    if let Some(found) = by_first_seal(*first_line, first, db.get(&first.pos), newer, here) {
        return found;
    }
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
            // the database may lack seals between the last both agree on
            // and this one: all of them count as missing
            from: base + 1,
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
            Some(d) if newer(d) => behind,
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

/// What the ledger's first seal alone tells (`None`: nothing yet, the
/// comparison goes on seal by seal).
fn by_first_seal(
    line: u64,
    first: &SealSeen,
    stored: Option<&StoredSeal>,
    newer: impl Fn(&StoredSeal) -> bool,
    here: &file::Place,
) -> Option<Standing> {
    let unproven = Standing::Unproven {
        pos: first.pos,
        line,
    };
    let Some(d) = stored else {
        // the very database the ledger saw (cluster and oid) rewound to
        // before its first seal is behind it; anywhere else nothing proves
        // it is ours
        return (!first.place.same_as(here)).then_some(unproven);
    };
    if file::hex(&d.hash) == first.hash {
        return None;
    }
    // a chain begun since: another database, an early dump restored (also
    // in place) and written to since, or a rewrite; only the operator can
    // tell
    if newer(d) {
        return Some(unproven);
    }
    if first.place.same_as(here) {
        return Some(Standing::Rewritten {
            pos: first.pos,
            seen_at: first.seen_at,
            line,
        });
    }
    // another database only where both places are known and differ
    if !(first.place.known() && here.known()) {
        return Some(unproven);
    }
    Some(Standing::Foreign {
        pos: first.pos,
        line,
    })
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
            Standing::Unproven { pos, line } => Some(format!(
                "the database holds none of the seals of the ledger {} (the first, position \
                 {pos}, line {line}): it belongs to another database, this database's protocol \
                 was emptied (rewound to before the ledger's first seal), or this database was \
                 restored from a dump taken before the ledger began. Set ledger.path to this \
                 database's ledger; if it is such a restore, `retentiond replay \
                 --confirm-restore` records it and replays the erasures it lost",
                path.display()
            )),
        }
    }

    /// The restore to record for a database behind the ledger, found `at`.
    pub fn restore(&self, at: DateTime<Utc>) -> Option<super::Restore> {
        match self {
            Standing::Behind {
                base,
                from,
                to,
                last_seen,
                ..
            } => Some(super::Restore {
                base_pos: *base,
                missing_from: *from,
                missing_to: *to,
                last_seen: *last_seen,
                found_at: at,
            }),
            _ => None,
        }
    }

    /// The error for a ledger of another database, or one nothing proves
    /// to be this database's.
    pub fn refuse_foreign(&self, path: &Path) -> Result<()> {
        match self {
            Standing::Foreign { .. } | Standing::Unproven { .. } => {
                Err(Error::Invalid(self.problem(path).unwrap_or_default()))
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::retention::ledger::file::Place;
    use crate::retention::ledger::{Entry, Restore};

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

    /// A place with an oid, and the ledger's first seal seen there.
    fn first_seen_here() -> (Place, Entry) {
        let here = Place {
            system_identifier: Some("7".into()),
            database_oid: Some(16384),
            database: Some("guests".into()),
        };
        let mut first = seal(1, 1);
        if let Entry::Seal(s) = &mut first {
            s.place = here.clone();
        }
        (here, first)
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
                    from: 6,
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
                from: 2,
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
    fn another_first_seal_is_another_database_where_both_places_are_known() {
        let (here, first) = first_seen_here();
        let s = state(vec![first, seal(5, 5)]);
        let elsewhere = Place {
            database_oid: Some(16385),
            ..here.clone()
        };
        assert_eq!(
            standing(&s, &db(&[(1, 7, 0), (5, 5, 500)]), &elsewhere),
            Standing::Foreign { pos: 1, line: 1 }
        );
        // a chain begun after the ledger's newest seal: only the operator
        // can tell a restored early dump from another database
        assert_eq!(
            standing(&s, &db(&[(1, 7, 900)]), &here),
            Standing::Unproven { pos: 1, line: 1 }
        );
    }

    #[test]
    fn no_seal_of_the_ledger_is_unproven_elsewhere_and_behind_where_it_saw_them() {
        let (here, first) = first_seen_here();
        let s = state(vec![first, seal(5, 5)]);
        let elsewhere = Place {
            database_oid: Some(16385),
            ..here.clone()
        };
        assert_eq!(
            standing(&s, &db(&[]), &elsewhere),
            Standing::Unproven { pos: 1, line: 1 }
        );
        let got = standing(&s, &db(&[]), &here);
        assert!(
            matches!(
                got,
                Standing::Behind {
                    base: 0,
                    from: 1,
                    to: 5,
                    ..
                }
            ),
            "{got:?}"
        );
    }

    #[test]
    fn a_place_without_the_cluster_proves_nothing() {
        let (here, mut first) = first_seen_here();
        if let Entry::Seal(s) = &mut first {
            s.place.system_identifier = None;
        }
        let s = state(vec![first, seal(5, 5)]);
        let here = Place {
            system_identifier: None,
            ..here
        };
        assert_eq!(
            standing(&s, &db(&[]), &here),
            Standing::Unproven { pos: 1, line: 1 }
        );
        assert_eq!(
            standing(&s, &db(&[(1, 7, 0)]), &here),
            Standing::Unproven { pos: 1, line: 1 }
        );
    }

    #[test]
    fn a_restore_from_before_the_first_seal_is_named_by_the_next_seal() {
        let restore = Entry::Restore(Restore {
            base_pos: 0,
            missing_from: 1,
            missing_to: 5,
            last_seen: t(500),
            found_at: t(1000),
        });
        let s = state(vec![seal(1, 1), seal(5, 5), restore, seal(1, 11)]);
        assert_eq!(s.first.as_ref().map(|(line, _)| *line), Some(4));
        assert_eq!(
            standing_here(&s, &db(&[(1, 11, 1000)])),
            Standing::Agrees { newest: 1 }
        );
    }

    #[test]
    fn another_first_seal_where_the_ledger_saw_it_is_a_rewrite() {
        let (here, first) = first_seen_here();
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
