//! The ledger's file: one JSON object per line, each carrying the hash of
//! the line before it (`prev`) and its own (`line_hash`, the SHA-256 of the
//! line as written with `line_hash` empty). A line changed, removed or inserted breaks
//! the chain at the line that names it; the newest line is checked against
//! the database instead. Appends take an exclusive lock on the file, are
//! written in one `write` and reach the disk (`fsync`) before the caller
//! goes on.

use std::fs::{File, OpenOptions};
use std::io::{BufReader, Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// Where a seal was seen: informative, since a restore lands in a new
/// database or cluster and is still the same database.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Place {
    /// `pg_control_system()`'s system identifier, when the login may read it.
    pub system_identifier: Option<String>,
    /// The database's oid.
    pub database_oid: Option<u32>,
    /// The database's name.
    pub database: Option<String>,
}

impl Place {
    /// Whether the place is known: the cluster's system identifier and the
    /// database's oid (a name proves nothing: it can be given again, or
    /// changed).
    pub fn known(&self) -> bool {
        self.system_identifier.is_some() && self.database_oid.is_some()
    }

    /// Whether both are provably the very same database (see [`Place::known`]).
    pub fn same_as(&self, other: &Place) -> bool {
        self.system_identifier.is_some()
            && self.database_oid.is_some()
            && self.system_identifier == other.system_identifier
            && self.database_oid == other.database_oid
    }
}

/// A seal of the protocol's chain as seen by a process.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealSeen {
    /// Its position in the chain.
    pub pos: i64,
    /// The highest protocol row id it covers.
    pub row_id: i64,
    /// The chain's SHA-256 after it, in hex.
    pub hash: String,
    /// When it was seen.
    pub seen_at: DateTime<Utc>,
    /// Where it was seen.
    #[serde(flatten)]
    pub place: Place,
}

/// An approved erasure: ids, logins and times only.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Erasure {
    /// The request's id.
    pub request: i64,
    /// The guest's id.
    pub guest: i64,
    /// The login that asked.
    pub requested_login: Option<String>,
    /// The login that approved.
    pub approved_login: Option<String>,
    /// When it was approved.
    pub decided_at: DateTime<Utc>,
    /// The position of the seal that covers the approval's protocol row.
    pub seal_pos: i64,
    /// That seal's hash, in hex.
    pub seal_hash: String,
    /// A mark of the guest as it was when the approval was recorded (a
    /// hash of its id and creation time, [`guest_mark`]): a guest that took
    /// the id again after a restore has another. No personal data.
    pub guest_mark: Option<String>,
}

/// The mark of a guest: the first 16 bytes of SHA-256 over its id and
/// its `created_at` in microseconds.
pub fn guest_mark(guest: i64, created_at: Option<DateTime<Utc>>) -> Option<String> {
    let at = created_at?.timestamp_micros();
    let digest = Sha256::digest(format!("{guest}:{at}").as_bytes());
    Some(hex(&digest[..16]))
}

/// The database was found behind the ledger and the ledger goes on from the
/// database's chain; the seals after `base_pos` are kept as history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Restore {
    /// The last seal both agree on (0: none).
    pub base_pos: i64,
    /// The first ledger seal the database did not have.
    pub missing_from: i64,
    /// The last.
    pub missing_to: i64,
    /// When the last of them was seen.
    pub last_seen: DateTime<Utc>,
    /// When the restore was found.
    pub found_at: DateTime<Utc>,
}

/// What a line records.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Entry {
    /// A seal seen.
    Seal(SealSeen),
    /// An approved erasure.
    Erasure(Erasure),
    /// A restore found.
    Restore(Restore),
}

/// One line as stored.
#[derive(Debug, Serialize, Deserialize)]
struct Line {
    n: u64,
    prev: String,
    #[serde(flatten)]
    entry: Entry,
    line_hash: String,
}

impl Line {
    /// The line's own hash: over its JSON with `hash` empty.
    fn digest(&self) -> Result<String> {
        let bare = Line {
            n: self.n,
            prev: self.prev.clone(),
            entry: self.entry.clone(),
            line_hash: String::new(),
        };
        let text = serde_json::to_string(&bare)
            .map_err(|e| Error::cause("cannot write a ledger line", e))?;
        Ok(hex(&Sha256::digest(text.as_bytes())))
    }
}

/// The hash before the first line.
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// A ledger read from its file, chain checked.
#[derive(Debug)]
pub struct Lines {
    /// The file.
    pub path: PathBuf,
    /// Its entries in order, each with its line number.
    pub entries: Vec<(u64, Entry)>,
    last_hash: String,
    /// The length of the complete lines: a last line without its newline
    /// is an append that failed (a full disk, a crash), not an entry.
    complete_len: u64,
}

/// A broken ledger: names the file and the line.
fn broken(path: &Path, n: u64, what: &str) -> Error {
    Error::Tampered(format!(
        "the ledger {} is broken at line {n}: {what}. Keep the file as it is for the audit; \
         compare it with a copy from the host's backup (`protocol verify --ledger COPY`)",
        path.display()
    ))
}

/// Reads and checks every line.
fn read_lines(path: &Path, file: &File) -> Result<Lines> {
    let mut lines = Lines {
        path: path.to_path_buf(),
        entries: Vec::new(),
        last_hash: GENESIS.to_string(),
        complete_len: 0,
    };
    let mut all = String::new();
    BufReader::new(file)
        .read_to_string(&mut all)
        .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
    let complete = all.rfind('\n').map_or(0, |i| i + 1);
    lines.complete_len = complete as u64;
    for (i, text) in all[..complete].lines().enumerate() {
        let n = i as u64 + 1;
        let line: Line = serde_json::from_str(text)
            .map_err(|e| broken(path, n, &format!("it is not a ledger line ({e})")))?;
        if line.n != n {
            return Err(broken(
                path,
                n,
                &format!(
                    "it says it is line {}: a line before it was removed or inserted",
                    line.n
                ),
            ));
        }
        if line.prev != lines.last_hash {
            return Err(broken(
                path,
                n,
                "it does not follow the line before it: that line was changed, or a line was \
                 removed or inserted before it",
            ));
        }
        if line.digest()? != line.line_hash {
            return Err(broken(
                path,
                n,
                "its content does not match its hash: it was changed",
            ));
        }
        // exactly as written: no key added, nothing reformatted
        let written = serde_json::to_string(&line)
            .map_err(|e| Error::cause("cannot write a ledger line", e))?;
        if written != text {
            return Err(broken(
                path,
                n,
                "it is not as retentiond wrote it (a key added or the line reformatted)",
            ));
        }
        lines.last_hash = line.line_hash;
        lines.entries.push((n, line.entry));
    }
    Ok(lines)
}

/// Reads a ledger; `None` when the file does not exist.
pub fn read(path: &Path) -> Result<Option<Lines>> {
    match File::open(path) {
        Ok(file) => {
            lock(&file, false, path)?;
            read_lines(path, &file).map(Some)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(
            format!("cannot open the ledger {}", path.display()),
            e,
        )),
    }
}

/// A ledger open for appending, locked until dropped.
pub struct Writer {
    file: File,
    /// What it holds so far.
    pub lines: Lines,
}

/// Opens (creating it, mode 0600) and locks the ledger for appending. The
/// directory must exist: it is the service's state directory.
pub fn open(path: &Path) -> Result<Writer> {
    refuse_unsafe_place(path)?;
    let created = !path.exists();
    let file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| {
            Error::io(
                format!(
                    "cannot open the ledger {} for writing (ledger.path; its directory must exist \
                     and be the service user's)",
                    path.display()
                ),
                e,
            )
        })?;
    let mode = file
        .metadata()
        .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(Error::Invalid(format!(
            "the ledger {} is readable by others (mode {:o}): `chmod 600 {}`",
            path.display(),
            mode & 0o777,
            path.display()
        )));
    }
    refuse_swapped(path, &file)?;
    if created {
        sync_dir(path);
    }
    lock(&file, true, path)?;
    let lines = read_lines(path, &file)?;
    let len = file
        .metadata()
        .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?
        .len();
    if len > lines.complete_len {
        // under the exclusive lock: an append that failed half-way
        tracing::warn!(
            path = %path.display(),
            bytes = len - lines.complete_len,
            "the ledger ended in an incomplete line (an append that failed); it is cut off"
        );
        file.set_len(lines.complete_len)
            .map_err(|e| Error::io(format!("cannot repair {}", path.display()), e))?;
    }
    Ok(Writer { file, lines })
}

/// A ledger is written only as a plain file of this process's user, in a
/// directory of its own that nobody else can write: a symbolic link, or a
/// directory where another user can plant or swap a file, would let that
/// user choose what the ledger says.
pub fn refuse_unsafe_place(path: &Path) -> Result<()> {
    let me = effective_uid();
    let refuse = |what: String| {
        Err(Error::Invalid(format!(
            "the ledger {} cannot be written safely: {what}",
            path.display()
        )))
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if let Ok(meta) = std::fs::symlink_metadata(dir) {
        let mode = meta.permissions().mode();
        if !meta.file_type().is_dir() {
            return refuse(format!(
                "its directory {} is a symbolic link or not a directory",
                dir.display()
            ));
        }
        if me.is_some_and(|me| meta.uid() != me) {
            return refuse(format!(
                "its directory {} belongs to another user (uid {}): run as that user, or \
                 give the directory to this one (systemd's StateDirectory= does)",
                dir.display(),
                meta.uid()
            ));
        }
        if mode & 0o022 != 0 {
            return refuse(format!(
                "its directory {} is writable by others (mode {:o}): `chmod 700` it, as \
                 systemd's StateDirectory= does",
                dir.display(),
                mode & 0o7777
            ));
        }
    }
    // above it, as OpenSSH's StrictModes: every directory (and link) is
    // root's or this user's, and one others may write is sticky
    for up in dir
        .ancestors()
        .skip(1)
        .filter(|a| !a.as_os_str().is_empty())
    {
        let Ok(meta) = std::fs::symlink_metadata(up) else {
            continue;
        };
        let mode = meta.permissions().mode();
        if me.is_some_and(|me| meta.uid() != me && meta.uid() != 0) {
            return refuse(format!(
                "{} on its path belongs to another user (uid {})",
                up.display(),
                meta.uid()
            ));
        }
        if meta.file_type().is_dir() && mode & 0o022 != 0 && mode & 0o1000 == 0 {
            return refuse(format!(
                "{} on its path is writable by others (mode {:o})",
                up.display(),
                mode & 0o7777
            ));
        }
    }
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if !meta.file_type().is_file() {
            return refuse("it is not a plain file (a symbolic link or another kind)".into());
        }
        if me.is_some_and(|me| meta.uid() != me) {
            return refuse(format!(
                "it belongs to another user (uid {}): run as that user",
                meta.uid()
            ));
        }
    }
    Ok(())
}

/// This process's effective user id (Linux: /proc/self/status), without
/// an unsafe call; `None` where it cannot be read.
fn effective_uid() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let uids = status.lines().find_map(|l| l.strip_prefix("Uid:"))?;
    uids.split_whitespace().nth(1)?.parse().ok()
}

/// The file opened is the one named (no link swapped in between).
fn refuse_swapped(path: &Path, file: &File) -> Result<()> {
    let opened = file
        .metadata()
        .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
    let named = std::fs::symlink_metadata(path)
        .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
    if (opened.dev(), opened.ino()) != (named.dev(), named.ino()) {
        return Err(Error::Invalid(format!(
            "the ledger {} changed while it was opened: not written",
            path.display()
        )));
    }
    Ok(())
}

impl Writer {
    /// Appends one line and waits until it is on disk.
    pub fn append(&mut self, entry: Entry) -> Result<()> {
        let n = self.lines.entries.len() as u64 + 1;
        let mut line = Line {
            n,
            prev: self.lines.last_hash.clone(),
            entry,
            line_hash: String::new(),
        };
        line.line_hash = line.digest()?;
        let mut text = serde_json::to_string(&line)
            .map_err(|e| Error::cause("cannot write a ledger line", e))?;
        text.push('\n');
        let path = &self.lines.path;
        let failed = |e| Error::io(format!("cannot append to the ledger {}", path.display()), e);
        let written = self
            .file
            .write_all(text.as_bytes())
            .and_then(|()| self.file.sync_data());
        if let Err(e) = written {
            // no half line stays behind (a full disk): the next append
            // starts where this one did
            let _ = self.file.set_len(self.lines.complete_len);
            return Err(failed(e));
        }
        self.lines.complete_len += text.len() as u64;
        self.lines.last_hash = line.line_hash;
        self.lines.entries.push((n, line.entry));
        Ok(())
    }
}

/// Takes the file's lock (shared to read, exclusive to append), waiting
/// at most 30 s for another process's append.
fn lock(file: &File, exclusive: bool, path: &Path) -> Result<()> {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let taken = if exclusive {
            file.try_lock()
        } else {
            file.try_lock_shared()
        };
        match taken {
            Ok(()) => return Ok(()),
            Err(std::fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(Error::Failed(format!(
                    "the ledger {} stayed locked by another process for 30 s",
                    path.display()
                )))
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(Error::io(format!("cannot lock {}", path.display()), e))
            }
        }
    }
}

/// A new file's directory entry reaches the disk too.
fn sync_dir(path: &Path) {
    if let Some(dir) = path.parent().and_then(|d| File::open(d).ok()) {
        let _ = dir.sync_all();
    }
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
#[path = "file_tests.rs"]
mod tests;
