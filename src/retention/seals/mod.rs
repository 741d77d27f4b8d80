//! Verifying the protocol's hash chain (migration 12): every seal is
//! recomputed here, outside the database, from the rows as they are now.
//! Nothing goes unseen: every row of the table is either hashed in a seal
//! (also a second row reusing an id) or counted as outside the chain, and
//! a seal vouches for the rows before it only where it matches a published
//! one: a chain that holds in itself may have been rewritten as a whole.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::db::{self, protocol::SealedRow};
use crate::error::Result;
use crate::model::Seal;

mod breach;

pub use breach::Breach;

/// The result of a walk over the chain.
#[derive(Debug, Serialize)]
pub struct Verdict {
    /// Whether the chain holds (and matches the published seal, if given).
    pub intact: bool,
    /// Rows checked.
    pub rows: u64,
    /// Seals checked.
    pub seals: u64,
    /// The newest seal, when the whole chain holds: the one to publish.
    pub newest: Option<Seal>,
    /// The published seal, when the walk reached it and it matched: every
    /// row sealed up to it is as it was when it was published. The only seal
    /// a verdict vouches for; one that merely holds in itself may have been
    /// rewritten together with the rows before it.
    pub confirmed: Option<Seal>,
    /// Seals checked against the ledger's (`protocol verify` with a ledger).
    pub ledger_seals: u64,
    /// The first problem found.
    pub breach: Option<Breach>,
}

/// Seals a ledger saw, by position: the hash in hex and when.
pub type Witnessed = BTreeMap<i64, (String, DateTime<Utc>)>;

/// Walks the whole chain in one snapshot, streaming; then counts the
/// table's rows against the rows the seals list, compares the chain's end
/// with the head and, if given, one seal with what was published.
pub async fn verify(
    client: &mut db::Object,
    published: Option<&Seal>,
    witnessed: &Witnessed,
) -> Result<Verdict> {
    let tx = db::snapshot(client).await?;
    let mut walk = Walk::new(published, witnessed);
    db::protocol::walk_seals(&tx, |row| {
        walk.step(row);
        Ok(())
    })
    .await?;
    walk.finish();
    if walk.verdict.breach.is_none() {
        walk.verdict.breach = check_table(&tx, walk.verdict.rows).await?;
    }
    if walk.verdict.breach.is_none() {
        walk.verdict.breach = check_head(&tx, walk.next_pos - 1, &walk.prev).await?;
    }
    if walk.verdict.breach.is_none() {
        if let Some(p) = published.filter(|_| !walk.published_seen) {
            walk.verdict.breach = Some(Breach::PublishedRowMissing { row_id: p.row_id });
        }
    }
    if walk.verdict.breach.is_none() {
        // a seal the ledger saw beyond the chain's end: rewound
        if let Some((&seal, (_, seen_at))) = witnessed.range(walk.next_pos..).next() {
            walk.verdict.breach = Some(Breach::LedgerSealMissing {
                seal,
                seen_at: *seen_at,
            });
        }
    }
    tx.commit().await?;
    let mut verdict = walk.verdict;
    verdict.intact = verdict.breach.is_none();
    if !verdict.intact {
        // a seal before the problem holds in itself only: it is not named
        verdict.newest = None;
    }
    Ok(verdict)
}

/// Every row of the table is in a seal, and no row is listed twice: the
/// walk matched each listed row to exactly one table row, so the table
/// holding fewer rows than the seals list means a row is listed twice.
async fn check_table(tx: &impl db::GenericClient, listed: u64) -> Result<Option<Breach>> {
    let count = db::protocol::count_rows(tx).await?;
    if count.unsealed > 0 {
        return Ok(Some(Breach::Unsealed {
            row_id: count.first_unsealed,
            rows: count.unsealed,
        }));
    }
    if u64::try_from(count.total).ok() == Some(listed) {
        return Ok(None);
    }
    Ok(Some(match db::protocol::listed_twice(tx).await? {
        Some((row_id, seal, again)) => Breach::ListedTwice {
            row_id,
            seal,
            again,
        },
        None => Breach::Malformed {
            seal: None,
            what: format!("they list {listed} row(s), the table holds {}", count.total),
        },
    }))
}

/// The one head row names the chain's last seal and its hash.
async fn check_head(
    tx: &impl db::GenericClient,
    last: i64,
    hash: &[u8; 32],
) -> Result<Option<Breach>> {
    let heads = db::protocol::seal_heads(tx).await?;
    let [(head, seal)] = heads.as_slice() else {
        return Ok(Some(Breach::HeadNotOne { rows: heads.len() }));
    };
    Ok(match *head {
        Some(head) if head > last => Some(Breach::TailRemoved { last, head }),
        Some(head) if head == last && seal.as_deref() == Some(hash.as_slice()) => None,
        head => Some(Breach::HeadRewritten { last, head }),
    })
}

/// The chain walked so far.
struct Walk<'a> {
    prev: [u8; 32],
    next_pos: i64,
    open: Option<Open>,
    published: Option<&'a Seal>,
    published_seen: bool,
    witnessed: &'a Witnessed,
    verdict: Verdict,
}

/// The seal being recomputed.
struct Open {
    seal_no: i64,
    pos: i64,
    stored: Vec<u8>,
    hasher: Sha256,
    /// The place of the listed row last hashed: a second line for it is a
    /// second table row with its id.
    last_n: i32,
    first_id: Option<i64>,
    max_id: i64,
    changed: Option<i64>,
    published: bool,
}

impl<'a> Walk<'a> {
    fn new(published: Option<&'a Seal>, witnessed: &'a Witnessed) -> Self {
        Walk {
            prev: [0; 32],
            next_pos: 1,
            open: None,
            published,
            published_seen: false,
            witnessed,
            verdict: Verdict {
                intact: true,
                rows: 0,
                seals: 0,
                newest: None,
                confirmed: None,
                ledger_seals: 0,
                breach: None,
            },
        }
    }

    fn step(&mut self, row: SealedRow) {
        if self.verdict.breach.is_some() {
            return;
        }
        if self.open.as_ref().is_none_or(|o| o.seal_no != row.seal_no) {
            self.close();
            if self.verdict.breach.is_some() {
                return;
            }
            match self.open_seal(&row) {
                Ok(open) => self.open = Some(open),
                Err(breach) => {
                    self.verdict.breach = Some(breach);
                    return;
                }
            }
        }
        let published = self.published.map(|p| p.row_id);
        if let Some(open) = self.open.as_mut() {
            match open.add(&row, published) {
                Ok(()) => self.verdict.rows += 1,
                Err(breach) => self.verdict.breach = Some(breach),
            }
        }
    }

    /// The walk's end: the last seal is compared.
    fn finish(&mut self) {
        if self.verdict.breach.is_none() {
            self.close();
        }
    }

    /// A seal's first line: it must be the next in the chain and well formed.
    fn open_seal(&self, row: &SealedRow) -> std::result::Result<Open, Breach> {
        let malformed = |seal, what: &str| Breach::Malformed {
            seal,
            what: what.to_string(),
        };
        let Some(pos) = row.pos else {
            return Err(malformed(None, "a seal has no position"));
        };
        if pos < 1 {
            return Err(malformed(Some(pos), "claims a position before the first"));
        }
        if pos < self.next_pos {
            return Err(Breach::SealTwice { seal: pos });
        }
        if pos > self.next_pos {
            return Err(Breach::SealRemoved {
                seal: self.next_pos,
            });
        }
        let Some(stored) = row.seal.clone() else {
            return Err(malformed(Some(pos), "has no hash"));
        };
        if row.n.is_none() {
            return Err(malformed(Some(pos), "lists no rows"));
        }
        if row.ids != row.fingerprints {
            return Err(malformed(
                Some(pos),
                &format!(
                    "lists {} row id(s) but {} fingerprint(s)",
                    row.ids.unwrap_or(0),
                    row.fingerprints.unwrap_or(0)
                ),
            ));
        }
        let mut hasher = Sha256::new();
        hasher.update(self.prev);
        Ok(Open {
            seal_no: row.seal_no,
            pos,
            stored,
            hasher,
            last_n: 0,
            first_id: None,
            max_id: i64::MIN,
            changed: None,
            published: false,
        })
    }

    /// The seal's last row was hashed: compares the hash with the stored
    /// seal (and a published one), and moves the chain on.
    fn close(&mut self) {
        let Some(open) = self.open.take() else {
            return;
        };
        let hash: [u8; 32] = open.hasher.finalize().into();
        if hash.as_slice() != open.stored.as_slice() {
            self.verdict.breach = Some(match open.changed {
                Some(row_id) => Breach::Changed {
                    row_id,
                    seal: open.pos,
                },
                None => Breach::SealChanged {
                    seal: open.pos,
                    row_id: open.first_id.unwrap_or_default(),
                },
            });
            return;
        }
        // a seal is named by the highest row id it lists
        let seal = Seal {
            row_id: open.max_id,
            hash,
        };
        if let Some(p) = self.published.filter(|_| open.published) {
            self.published_seen = true;
            if p.hash != hash {
                self.verdict.breach = Some(Breach::NotAsPublished { row_id: p.row_id });
                return;
            }
            self.verdict.confirmed = Some(seal.clone());
        }
        if let Some((seen, seen_at)) = self.witnessed.get(&open.pos) {
            if *seen != crate::retention::ledger::file::hex(&hash) {
                self.verdict.breach = Some(Breach::NotAsInLedger {
                    seal: open.pos,
                    seen_at: *seen_at,
                });
                return;
            }
            self.verdict.ledger_seals += 1;
        }
        self.prev = hash;
        self.next_pos += 1;
        self.verdict.seals += 1;
        self.verdict.newest = Some(seal);
    }
}

impl Open {
    /// Hashes one line of the walk into the seal.
    fn add(&mut self, row: &SealedRow, published: Option<i64>) -> std::result::Result<(), Breach> {
        let Some(id) = row.id else {
            return Err(Breach::Malformed {
                seal: Some(self.pos),
                what: "lists a row without an id".to_string(),
            });
        };
        let n = row.n.unwrap_or_default();
        if n == self.last_n {
            return Err(Breach::Duplicated {
                row_id: id,
                seal: self.pos,
            });
        }
        self.last_n = n;
        let Some(canonical) = row.canonical.as_deref() else {
            return Err(Breach::Removed {
                row_id: id,
                seal: self.pos,
            });
        };
        if self.first_id.is_some() {
            self.hasher.update(b"\n");
        }
        self.first_id.get_or_insert(id);
        self.hasher.update(canonical.as_bytes());
        if self.changed.is_none() && row.fingerprint != row.fingerprint_now {
            self.changed = Some(id);
        }
        self.max_id = self.max_id.max(id);
        self.published |= published == Some(id);
        Ok(())
    }
}
