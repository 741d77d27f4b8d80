//! Verifying the protocol's hash chain (migration 12): every seal is
//! recomputed here, outside the database, from the rows as they are now.

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::db::{self, protocol::SealedRow};
use crate::error::Result;
use crate::model::Seal;

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
    /// A whole seal (and what it listed) is gone.
    SealRemoved {
        /// The missing position.
        seal: i64,
    },
    /// Rows that no seal lists: inserted outside the chain.
    Unsealed {
        /// The lowest such row id.
        row_id: i64,
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
            Breach::SealChanged { seal, row_id } => write!(
                f,
                "seal {seal} (from row {row_id}) does not match its rows: the seal or the \
                 chain before it was rewritten"
            ),
            Breach::Removed { row_id, seal } => {
                write!(f, "row {row_id} was removed (it is listed in seal {seal})")
            }
            Breach::SealRemoved { seal } => {
                write!(f, "seal {seal} was removed, with the rows it listed")
            }
            Breach::Unsealed { row_id, rows } => write!(
                f,
                "row {row_id} was inserted outside the chain ({rows} row(s) in no seal)"
            ),
            Breach::TailRemoved { last, head } => write!(
                f,
                "the chain ends at seal {last} but its head names seal {head}: the newest \
                 seals were removed"
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
        }
    }
}

/// The result of a walk over the chain.
#[derive(Debug, Serialize)]
pub struct Verdict {
    /// Whether the chain holds (and matches the published seal, if given).
    pub intact: bool,
    /// Rows checked.
    pub rows: u64,
    /// Seals checked.
    pub seals: u64,
    /// The newest seal that checked out.
    pub newest: Option<Seal>,
    /// The first problem found.
    pub breach: Option<Breach>,
}

/// The seal being recomputed.
struct Open {
    pos: i64,
    hasher: Sha256,
    changed: Option<i64>,
    first_id: i64,
    published: bool,
}

/// Walks the whole chain in one snapshot, streaming, and compares its end
/// with the head and, if given, one seal with what was published.
pub async fn verify(client: &mut db::Object, published: Option<&Seal>) -> Result<Verdict> {
    let tx = db::snapshot(client).await?;
    let mut walk = Walk {
        prev: [0; 32],
        next_pos: 1,
        open: None,
        published,
        published_seen: false,
        verdict: Verdict {
            intact: true,
            rows: 0,
            seals: 0,
            newest: None,
            breach: None,
        },
    };
    db::protocol::walk_seals(&tx, |row| {
        walk.step(row);
        Ok(())
    })
    .await?;
    let mut verdict = walk.verdict;
    if verdict.breach.is_none() {
        if let Some((row_id, rows)) = db::protocol::unsealed(&tx).await? {
            verdict.breach = Some(Breach::Unsealed { row_id, rows });
        }
    }
    if verdict.breach.is_none() {
        let (head, head_seal) = db::protocol::seal_head(&tx).await?;
        let last = walk.next_pos - 1;
        if head != last || (last > 0 && head_seal.as_slice() != walk.prev) {
            verdict.breach = Some(Breach::TailRemoved { last, head });
        }
    }
    if verdict.breach.is_none() {
        if let Some(p) = published.filter(|_| !walk.published_seen) {
            verdict.breach = Some(Breach::PublishedRowMissing { row_id: p.row_id });
        }
    }
    tx.commit().await?;
    verdict.intact = verdict.breach.is_none();
    Ok(verdict)
}

struct Walk<'a> {
    prev: [u8; 32],
    next_pos: i64,
    open: Option<Open>,
    published: Option<&'a Seal>,
    published_seen: bool,
    verdict: Verdict,
}

impl Walk<'_> {
    fn step(&mut self, row: SealedRow) {
        if self.verdict.breach.is_some() {
            return;
        }
        if row.n == 1 {
            if row.pos != self.next_pos {
                self.verdict.breach = Some(Breach::SealRemoved {
                    seal: self.next_pos,
                });
                return;
            }
            let mut hasher = Sha256::new();
            hasher.update(self.prev);
            self.open = Some(Open {
                pos: row.pos,
                hasher,
                changed: None,
                first_id: row.id,
                published: false,
            });
        }
        let Some(open) = self.open.as_mut().filter(|o| o.pos == row.pos) else {
            // rows of a seal without its first row: the walk is out of step
            self.verdict.breach = Some(Breach::SealChanged {
                seal: row.pos,
                row_id: row.id,
            });
            return;
        };
        let Some(canonical) = row.canonical.as_deref() else {
            self.verdict.breach = Some(Breach::Removed {
                row_id: row.id,
                seal: row.pos,
            });
            return;
        };
        if row.n > 1 {
            open.hasher.update(b"\n");
        }
        open.hasher.update(canonical.as_bytes());
        if open.changed.is_none() && row.fingerprint != row.fingerprint_now {
            open.changed = Some(row.id);
        }
        open.published |= self.published.is_some_and(|p| p.row_id == row.id);
        self.verdict.rows += 1;
        if row.n == row.rows {
            self.close(&row);
        }
    }

    /// The seal's last row was hashed: compares the hash with the stored
    /// seal (and a published one), and moves the chain on.
    fn close(&mut self, row: &SealedRow) {
        let Some(open) = self.open.take() else {
            return;
        };
        let hash: [u8; 32] = open.hasher.finalize().into();
        if hash.as_slice() != row.seal.as_slice() {
            self.verdict.breach = Some(match open.changed {
                Some(row_id) => Breach::Changed {
                    row_id,
                    seal: open.pos,
                },
                None => Breach::SealChanged {
                    seal: open.pos,
                    row_id: open.first_id,
                },
            });
            return;
        }
        if open.published {
            self.published_seen = true;
            if self.published.is_some_and(|p| p.hash != hash) {
                self.verdict.breach = Some(Breach::NotAsPublished {
                    row_id: self.published.map_or(0, |p| p.row_id),
                });
                return;
            }
        }
        self.prev = hash;
        self.next_pos += 1;
        self.verdict.seals += 1;
        // a seal lists its rows in ascending id order: the last is its name
        self.verdict.newest = Some(Seal {
            row_id: row.id,
            hash,
        });
    }
}
