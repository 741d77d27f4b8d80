//! Bringing the ledger up to date with the database: the newest seal and
//! the approvals sealed since the ledger's newest seal. When the database is
//! behind the ledger, the daemon and `replay` record the restore (a
//! `restore_detected` row) and the ledger goes on from the database's chain;
//! other commands leave that to them.

use std::path::Path;

use serde::Serialize;

use super::file::{self, hex, Entry, Erasure, Restore, SealSeen};
use super::{standing, Standing, State};
use crate::db::ledger as q;
use crate::db::GenericClient;
use crate::error::{Error, Result};
use crate::retention::Context;

/// Who brings the ledger up to date.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// A command that may have sealed rows: records when the database
    /// agrees with the ledger, and nothing else.
    Record,
    /// The daemon and `replay`: also record a restore and go on from it.
    Acknowledge,
    /// `replay --confirm-restore`: also a database that holds none of the
    /// ledger's seals, which the operator says is a restore of a dump
    /// taken before the ledger began.
    Confirmed,
}

/// What a sync found and did.
#[derive(Debug, Serialize)]
pub struct Synced {
    /// How the database stood to the ledger when the sync began.
    #[serde(flatten)]
    pub standing: Standing,
    /// The restore recorded by this sync.
    pub restore: Option<Restore>,
    /// Lines appended.
    pub appended: usize,
    /// The ledger as it is now.
    #[serde(skip)]
    pub state: State,
}

/// Brings the ledger at `path` up to date. A ledger of another database is
/// an error; a rewritten protocol is returned, with nothing appended.
pub async fn sync(cx: &Context, path: &Path, mode: Mode, actor: &str) -> Result<Synced> {
    let mut writer = file::open(path)?;
    let mut state = State::from_entries(&writer.lines.entries);
    let client = cx.client().await?;
    let (found, place) = look(&client, &state, mode).await?;
    let place_seen = place.as_seen();
    found.refuse_foreign(path)?;
    let mut synced = Synced {
        standing: found.clone(),
        restore: None,
        appended: 0,
        state: State::default(),
    };
    let restore = found.restore(place.now);
    let settled = matches!(found, Standing::Empty | Standing::Agrees { .. });
    if !settled && (restore.is_none() || mode == Mode::Record) {
        // rewritten or another database's: nothing is appended; behind:
        // the daemon's and replay's to record
        synced.state = state;
        return Ok(synced);
    }
    if let Some(restore) = restore {
        let missing = (restore.missing_from, restore.missing_to);
        q::restore_detected(&client, missing, restore.last_seen, actor).await?;
        writer.append(Entry::Restore(restore.clone()))?;
        synced.appended += 1;
        synced.restore = Some(restore);
        state = State::from_entries(&writer.lines.entries);
    }
    let Some(newest) = q::newest_seal(&client).await? else {
        synced.state = state;
        return Ok(synced);
    };
    let seen = |s: &q::StoredSeal| SealSeen {
        pos: s.pos,
        row_id: s.row_id.unwrap_or_default(),
        hash: hex(&s.hash),
        seen_at: place.now,
        place: place_seen.clone(),
    };
    let after = state.newest().map_or(0, |s| s.pos);
    if after == 0 && newest.pos > 1 {
        // a new ledger starts with the chain's first seal: it names the database
        if let Some(first) = q::seals_at(&client, &[1]).await?.get(&1) {
            writer.append(Entry::Seal(seen(first)))?;
            synced.appended += 1;
        }
    }
    for a in q::approvals(&client, after, newest.pos).await? {
        let (Some(request), Some(guest)) = (a.request, a.guest) else {
            continue;
        };
        let seal_hash = hex(&a.seal_hash);
        if state.has_erasure(request, &seal_hash) {
            continue;
        }
        let erasure = Erasure {
            request,
            guest,
            requested_login: a.requested_login,
            approved_login: a.approved_login,
            decided_at: a.at,
            seal_pos: a.seal_pos,
            seal_hash,
            guest_mark: file::guest_mark(guest, a.guest_created_at),
        };
        writer.append(Entry::Erasure(erasure.clone()))?;
        state.erasures.push((0, erasure));
        synced.appended += 1;
    }
    if newest.pos != after {
        writer.append(Entry::Seal(seen(&newest)))?;
        synced.appended += 1;
    }
    synced.state = State::from_entries(&writer.lines.entries);
    Ok(synced)
}

/// How the database stands to the ledger (its seals at the ledger's
/// positions, read now), and where the database is and its clock.
pub(crate) async fn look(
    client: &impl GenericClient,
    state: &State,
    mode: Mode,
) -> Result<(Standing, q::Place)> {
    let seals = q::seals_at(client, &state.positions()).await?;
    let place = q::place(client).await?;
    Ok((found(state, &seals, &place.as_seen(), mode), place))
}

/// How the database stands to the ledger; with [`Mode::Confirmed`], a
/// database that holds none of its seals is taken for a restore from
/// before the ledger's first seal.
fn found(
    state: &State,
    seals: &std::collections::HashMap<i64, q::StoredSeal>,
    here: &file::Place,
    mode: Mode,
) -> Standing {
    match (standing(state, seals, here), mode) {
        (Standing::Unproven { .. }, Mode::Confirmed) => confirmed_restore(state, seals),
        (found, _) => found,
    }
}

/// What `replay --dry-run` goes by: how the database stands to the ledger,
/// and the ledger as it would be after the restore the database shows was
/// recorded. Nothing is written.
pub async fn as_if_recorded(
    cx: &Context,
    mut state: State,
    mode: Mode,
) -> Result<(Standing, State)> {
    let (found, place) = look(&cx.client().await?, &state, mode).await?;
    if let Some(restore) = found.restore(place.now) {
        state.restores.push((0, restore));
    }
    Ok((found, state))
}

/// A database the operator confirmed to be a restore from before the
/// ledger's first seal: behind all of the ledger.
fn confirmed_restore(
    state: &State,
    seals: &std::collections::HashMap<i64, q::StoredSeal>,
) -> Standing {
    let newest = state.newest();
    let first_seen = state.active.values().next().map(|(_, s)| s.seen_at);
    match (newest, first_seen) {
        (Some(newest), Some(first_seen)) => Standing::Behind {
            base: 0,
            from: 1,
            to: newest.pos,
            first_seen,
            last_seen: newest.seen_at,
        },
        _ => standing(state, seals, &Default::default()),
    }
}

/// After a command: records the newest seal (and approvals) where this
/// process may write the ledger. Only the daemon creates it (as the service
/// user); a ledger this process cannot append to (no ledger on this host,
/// the service user's file) is left to the daemon's next tick.
pub async fn record_after_command(cx: &Context) {
    let path = &cx.settings.ledger.path;
    if file::refuse_unsafe_place(path).is_err()
        || std::fs::OpenOptions::new().append(true).open(path).is_err()
    {
        tracing::debug!(path = %path.display(), "the ledger is not writable here; the daemon records");
        return;
    }
    // recording writes nothing to the database: no actor
    match sync(cx, path, Mode::Record, "").await {
        Ok(synced) => {
            if let Some(problem) = synced.standing.problem(path) {
                tracing::warn!("{problem}; the daemon (or `retentiond replay`) records it");
            }
        }
        Err(Error::Schema(_)) | Err(Error::Pool(_)) | Err(Error::Db { .. }) => {}
        Err(e) => tracing::warn!(error = %e, "the ledger was not brought up to date"),
    }
}

/// The daemon's check at start-up: the ledger can be written and belongs
/// to this database.
pub async fn check_at_start(cx: &Context) -> Result<()> {
    let path = &cx.settings.ledger.path;
    drop(file::open(path).map_err(|e| {
        Error::Invalid(format!(
            "ledger.path: {e}. systemd's StateDirectory= creates /var/lib/retentiond; \
             elsewhere create the directory or set ledger.path"
        ))
    })?);
    let Some(state) = State::read(path)? else {
        return Ok(());
    };
    super::standing_of(cx, &state).await?.refuse_foreign(path)
}

/// The daemon's step, at every tick: brings the ledger up to date, records
/// a restore, and (with `replay`) replays what the restore lost. Problems
/// are logged; the tick goes on.
pub async fn daemon_step(cx: &Context, replay: bool) {
    let path = &cx.settings.ledger.path;
    let actor = crate::model::DAEMON_ACTOR;
    let synced = match sync(cx, path, Mode::Acknowledge, actor).await {
        Ok(synced) => synced,
        Err(e) => {
            crate::metrics::global().ledger(false, None);
            tracing::error!(error = %e, "the ledger was not brought up to date; retrying at the next tick");
            return;
        }
    };
    let agrees = matches!(synced.standing, Standing::Empty | Standing::Agrees { .. });
    let recorded = !matches!(synced.standing, Standing::Rewritten { .. });
    crate::metrics::global().ledger(agrees, recorded.then(|| cx.now()));
    if let Some(r) = &synced.restore {
        tracing::error!(
            missing_from = r.missing_from,
            missing_to = r.missing_to,
            last_seen = %r.last_seen.to_rfc3339(),
            "the database is behind the ledger (a backup restored, or the protocol rewound): \
             recorded as restore_detected; the ledger goes on from the database's chain"
        );
    }
    if let Standing::Rewritten { .. } = synced.standing {
        let problem = synced.standing.problem(path).unwrap_or_default();
        tracing::error!("{problem}; nothing is recorded or replayed until it is resolved");
        return;
    }
    if !replay {
        return;
    }
    match super::replay::replay(cx, &synced.state, false, actor).await {
        Ok(done) => {
            for r in done {
                match r.outcome.as_str() {
                    "replayed" => tracing::warn!(
                        request.id = r.request,
                        guest.id = r.guest,
                        seal = r.seal,
                        "an approved erasure lost with the restore was applied again"
                    ),
                    "replaced" => tracing::warn!(
                        request.id = r.request,
                        guest.id = r.guest,
                        "the id of an approved erasure's guest belongs to a guest created after \
                         the approval: not replayed"
                    ),
                    "missing" => tracing::debug!(
                        request.id = r.request,
                        guest.id = r.guest,
                        "the guest of an approved erasure no longer exists"
                    ),
                    other => tracing::warn!(
                        request.id = r.request,
                        guest.id = r.guest,
                        outcome = other,
                        "an approved erasure lost with the restore could not be applied yet; \
                         retrying at the next tick"
                    ),
                }
            }
        }
        Err(e) => tracing::error!(error = %e, "replay failed; retrying at the next tick"),
    }
}
