//! What `protocol verify` finds wrong with the chain, and how it says so.

use serde::Serialize;

/// What is wrong with the chain: the first problem in chain order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum Breach {
    /// The row is not what was sealed.
    Changed {
        /// The row.
        row_id: i64,
        /// Its seal's position.
        seal: i64,
    },
    /// The rows match what was sealed but the seal does not: the seal or
    /// the chain before it was rewritten.
    SealChanged {
        /// The seal's position.
        seal: i64,
        /// The lowest row id it lists.
        row_id: i64,
    },
    /// A sealed row is gone.
    Removed {
        /// The row.
        row_id: i64,
        /// Its seal's position.
        seal: i64,
    },
    /// The table holds a sealed row's id more than once: a second row
    /// reuses it (possible once the primary key is dropped).
    Duplicated {
        /// The row id.
        row_id: i64,
        /// The seal that lists it.
        seal: i64,
    },
    /// The seals list a row id more than once; the database seals each row once.
    ListedTwice {
        /// The row id.
        row_id: i64,
        /// The first seal that lists it.
        seal: Option<i64>,
        /// The next one (the same when that seal lists it twice).
        again: Option<i64>,
    },
    /// A seal the database never writes: no position or hash, no rows, a
    /// row without an id, ids and fingerprints that do not pair up.
    Malformed {
        /// The seal's position, if it has one.
        seal: Option<i64>,
        /// What is wrong with it.
        what: String,
    },
    /// A whole seal (and what it listed) is gone.
    SealRemoved {
        /// The missing position.
        seal: i64,
    },
    /// Two seals claim the same position.
    SealTwice {
        /// The position.
        seal: i64,
    },
    /// Rows that no seal lists: inserted outside the chain.
    Unsealed {
        /// The lowest such row id; `None` when they have no id.
        row_id: Option<i64>,
        /// How many.
        rows: i64,
    },
    /// The chain ends before its head says: seals at its end are gone.
    TailRemoved {
        /// The last seal found.
        last: i64,
        /// The newest seal the head names.
        head: i64,
    },
    /// The head does not name the chain's last seal: it was rewound or rewritten.
    HeadRewritten {
        /// The last seal found.
        last: i64,
        /// The seal the head names.
        head: Option<i64>,
    },
    /// The head row is missing or there is more than one.
    HeadNotOne {
        /// How many head rows there are.
        rows: usize,
    },
    /// A published seal does not match: the chain was rewritten up to it.
    NotAsPublished {
        /// The row the published seal names.
        row_id: i64,
    },
    /// A published seal names a row no seal lists.
    PublishedRowMissing {
        /// The row the published seal names.
        row_id: i64,
    },
    /// A seal of the ledger is not in the chain: the protocol was rewound
    /// (or restored from a backup nobody recorded) after it was seen.
    LedgerSealMissing {
        /// Its position.
        seal: i64,
        /// When the ledger saw it.
        seen_at: chrono::DateTime<chrono::Utc>,
    },
    /// The chain holds another seal where the ledger saw one.
    NotAsInLedger {
        /// The position.
        seal: i64,
        /// When the ledger saw its seal there.
        seen_at: chrono::DateTime<chrono::Utc>,
    },
    /// An erasure_replayed row names an approval the ledger does not hold.
    ReplayNotInLedger {
        /// The row.
        row_id: i64,
        /// The request it names.
        request: Option<i64>,
    },
    /// Seals the ledger saw were lost with a restore it recorded (a backup
    /// restored, or the protocol rewound: they look alike). The rows they
    /// sealed are not in the protocol any more.
    SealsLost {
        /// The first position lost.
        from: i64,
        /// The last.
        to: i64,
        /// When the last of them was seen.
        last_seen: chrono::DateTime<chrono::Utc>,
        /// When the restore was found.
        found_at: chrono::DateTime<chrono::Utc>,
        /// The ledger's line that records it.
        line: u64,
    },
}

impl std::fmt::Display for Breach {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Breach::Changed { row_id, seal } => {
                write!(
                    f,
                    "row {row_id} was changed after it was sealed (seal {seal})"
                )
            }
            Breach::Removed { row_id, seal } => {
                write!(f, "row {row_id} was removed (it is listed in seal {seal})")
            }
            Breach::Duplicated { row_id, seal } => write!(
                f,
                "row {row_id} exists twice in the table (seal {seal} lists it once): a second \
                 row reuses its id"
            ),
            Breach::Unsealed {
                row_id: Some(row_id),
                rows,
            } => write!(
                f,
                "row {row_id} was inserted outside the chain ({rows} row(s) in no seal)"
            ),
            Breach::Unsealed { row_id: None, rows } => write!(
                f,
                "{rows} row(s) without an id were inserted outside the chain"
            ),
            Breach::NotAsPublished { row_id } => write!(
                f,
                "the seal of row {row_id} is not the one published: the protocol was \
                 rewritten up to row {row_id}"
            ),
            Breach::PublishedRowMissing { row_id } => write!(
                f,
                "the published seal names row {row_id}, which no seal lists: the protocol \
                 was rewritten"
            ),
            Breach::LedgerSealMissing { seal, seen_at } => write!(
                f,
                "the protocol was rewound or rewritten after {}: seal {seal}, which the ledger \
                 saw then, is missing",
                seen_at.format("%Y-%m-%d %H:%M:%S UTC")
            ),
            Breach::NotAsInLedger { seal, seen_at } => write!(
                f,
                "the protocol was rewritten: seal {seal} is not the one the ledger saw at {}",
                seen_at.format("%Y-%m-%d %H:%M:%S UTC")
            ),
            Breach::ReplayNotInLedger { row_id, request } => write!(
                f,
                "row {row_id} records a replayed erasure (request {}) that the ledger does not \
                 hold: it was not replayed from this ledger",
                request.map_or_else(|| "unknown".to_string(), |r| r.to_string())
            ),
            Breach::SealsLost {
                from,
                to,
                last_seen,
                found_at,
                line,
            } => write!(
                f,
                "the protocol lost seals {from}–{to}, the last seen {}: a backup restored or \
                 the protocol rewound, found {} (ledger line {line}); the rows they sealed are \
                 gone, the ledger keeps their seals and approved erasures",
                last_seen.format("%Y-%m-%d %H:%M:%S UTC"),
                found_at.format("%Y-%m-%d %H:%M:%S UTC")
            ),
            seal_or_head => seal_or_head.fmt_seal(f),
        }
    }
}

impl Breach {
    /// The problems of the seals and of the head.
    fn fmt_seal(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Breach::SealChanged { seal, row_id } => write!(
                f,
                "seal {seal} (from row {row_id}) does not match its rows: the seal or the \
                 chain before it was rewritten"
            ),
            Breach::ListedTwice {
                row_id,
                seal,
                again,
            } if seal == again => write!(
                f,
                "seal {} lists row {row_id} twice: the database seals each row once",
                show(*seal)
            ),
            Breach::ListedTwice {
                row_id,
                seal,
                again,
            } => write!(
                f,
                "row {row_id} is listed in seal {} and again in seal {}: the database seals \
                 each row once",
                show(*seal),
                show(*again)
            ),
            Breach::Malformed {
                seal: Some(seal),
                what,
            } => write!(
                f,
                "seal {seal} {what}: the database never writes such a seal"
            ),
            Breach::Malformed { seal: None, what } => {
                write!(f, "the seals are not as the database writes them: {what}")
            }
            Breach::SealRemoved { seal } => {
                write!(f, "seal {seal} was removed, with the rows it listed")
            }
            Breach::SealTwice { seal } => {
                write!(
                    f,
                    "seal {seal} exists twice: a second seal claims its position"
                )
            }
            Breach::TailRemoved { last, head } => write!(
                f,
                "the chain ends at seal {last} but its head names seal {head}: the newest \
                 seals were removed"
            ),
            Breach::HeadRewritten { last, head } => write!(
                f,
                "the chain's head names seal {}, not the chain's last seal {last} with its \
                 hash: the head was rewound or rewritten",
                show(*head)
            ),
            Breach::HeadNotOne { rows } => write!(
                f,
                "the chain's head (retention.protocol_seal_head) has {rows} rows instead of \
                 one: it was removed or doubled"
            ),
            Breach::Changed { .. }
            | Breach::Removed { .. }
            | Breach::Duplicated { .. }
            | Breach::Unsealed { .. }
            | Breach::NotAsPublished { .. }
            | Breach::PublishedRowMissing { .. }
            | Breach::LedgerSealMissing { .. }
            | Breach::NotAsInLedger { .. }
            | Breach::ReplayNotInLedger { .. }
            | Breach::SealsLost { .. } => write!(f, "{self}"),
        }
    }
}

/// A seal position that may be missing.
fn show(pos: Option<i64>) -> String {
    pos.map_or_else(|| "(without a position)".to_string(), |p| p.to_string())
}
