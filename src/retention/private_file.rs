//! Files handed out to people (exports, yearly reports): written to a new
//! private temporary file beside the target (mode 0600 whatever the umask,
//! a name nobody can guess, never through a planted symlink) and put in
//! place only when complete: without `force` by a hard link, which never
//! replaces a file, also one that appeared meanwhile; with `force` by an
//! atomic rename. A temporary file a killed writer left behind is removed
//! by the next writer of the same name.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The ending of a temporary file: `.NAME.PID.RANDOM` + this.
const TEMPORARY: &str = ".retentiond-tmp";

/// A private file being written for `out`.
#[derive(Debug)]
pub struct PrivateFile {
    /// The temporary file's path.
    pub tmp: PathBuf,
    out: PathBuf,
    force: bool,
}

impl PrivateFile {
    /// Creates the temporary file for `out`; refused when `out` exists and
    /// `force` is not given.
    pub fn create(out: &Path, force: bool) -> Result<(PrivateFile, File)> {
        if out.symlink_metadata().is_ok() && !force {
            return Err(exists_already(out));
        }
        let dir = out
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let name = out
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "export".into());
        remove_stale_temporaries(dir, &name);
        // create_new never follows a symlink planted at that name
        let tmp = dir.join(format!(
            ".{name}.{}.{}{TEMPORARY}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(|e| Error::io(format!("cannot create {}", tmp.display()), e))?;
        let private = PrivateFile {
            tmp,
            out: out.to_path_buf(),
            force,
        };
        Ok((private, file))
    }

    /// Puts the finished file in place (see the module) and removes the
    /// temporary name.
    pub fn hand_out(self) -> Result<()> {
        let moved = if self.force {
            std::fs::rename(&self.tmp, &self.out)
        } else {
            std::fs::hard_link(&self.tmp, &self.out)
        };
        let _ = std::fs::remove_file(&self.tmp);
        moved.map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => exists_already(&self.out),
            _ => Error::io(format!("cannot move the file to {}", self.out.display()), e),
        })
    }

    /// Removes the temporary file: nothing is handed out.
    pub fn discard(self) {
        let _ = std::fs::remove_file(&self.tmp);
    }
}

fn exists_already(out: &Path) -> Error {
    Error::Invalid(format!(
        "{} exists already: choose another file, or pass --force to replace it",
        out.display()
    ))
}

/// Removes temporary files that writers of `name` left when their process
/// was killed (their process id no longer runs).
fn remove_stale_temporaries(dir: &Path, name: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let prefix = format!(".{name}.");
    for entry in entries.flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = file
            .strip_prefix(&prefix)
            .and_then(|r| r.strip_suffix(TEMPORARY))
        else {
            continue;
        };
        let pid = rest.split('.').next().unwrap_or("");
        let alive = !pid.is_empty() && Path::new("/proc").join(pid).exists();
        if !alive {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}
