//! The ledger file's unit tests: lines read back as written, every kind
//! of change named by its line, and the places a ledger is refused.

use super::*;

fn seal(pos: i64) -> Entry {
    Entry::Seal(SealSeen {
        pos,
        row_id: pos * 10,
        hash: hex(&[pos as u8; 32]),
        seen_at: DateTime::from_timestamp(1_800_000_000 + pos, 0).unwrap(),
        place: Place::default(),
    })
}

fn written(n: i64) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger");
    let mut w = open(&path).unwrap();
    for pos in 1..=n {
        w.append(seal(pos)).unwrap();
    }
    (dir, path)
}

fn edit(path: &Path, f: impl Fn(Vec<String>) -> Vec<String>) {
    let text = std::fs::read_to_string(path).unwrap();
    let lines = f(text.lines().map(str::to_string).collect());
    std::fs::write(path, lines.join("\n") + "\n").unwrap();
}

#[test]
fn lines_read_back_as_written_with_mode_0600() {
    let (_dir, path) = written(3);
    let lines = read(&path).unwrap().unwrap();
    assert_eq!(lines.entries.len(), 3);
    assert_eq!(lines.entries[2], (3, seal(3)));
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    // appending goes on from the last line
    open(&path).unwrap().append(seal(4)).unwrap();
    assert_eq!(read(&path).unwrap().unwrap().entries.len(), 4);
}

#[test]
fn a_changed_line_is_named() {
    let (_dir, path) = written(3);
    edit(&path, |mut l| {
        l[1] = l[1].replace("\"row_id\":20", "\"row_id\":21");
        l
    });
    let e = read(&path).unwrap_err().to_string();
    assert!(
        e.contains("broken at line 2") && e.contains("changed"),
        "{e}"
    );
}

#[test]
fn an_incomplete_last_line_is_no_entry_and_the_writer_cuts_it_off() {
    let (_dir, path) = written(3);
    let whole = std::fs::read(&path).unwrap();
    let mut torn = whole.clone();
    torn.extend_from_slice(b"{\"n\":4,\"prev\":\"ab");
    std::fs::write(&path, &torn).unwrap();
    assert_eq!(read(&path).unwrap().unwrap().entries.len(), 3);
    let mut w = open(&path).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), whole);
    w.append(seal(4)).unwrap();
    drop(w);
    assert_eq!(read(&path).unwrap().unwrap().entries.len(), 4);
}

#[test]
fn a_key_added_to_a_line_is_named() {
    let (_dir, path) = written(3);
    edit(&path, |mut l| {
        l[1] = l[1].replacen('{', "{\"note\":\"checked\",", 1);
        l
    });
    let e = read(&path).unwrap_err().to_string();
    assert!(
        e.contains("broken at line 2") && e.contains("not as retentiond wrote it"),
        "{e}"
    );
}

#[test]
fn a_changed_line_with_its_hash_recomputed_is_named_by_the_next() {
    let (_dir, path) = written(3);
    edit(&path, |mut l| {
        let mut line: Line = serde_json::from_str(&l[1]).unwrap();
        if let Entry::Seal(s) = &mut line.entry {
            s.row_id = 21;
        }
        line.line_hash = line.digest().unwrap();
        l[1] = serde_json::to_string(&line).unwrap();
        l
    });
    let e = read(&path).unwrap_err().to_string();
    assert!(
        e.contains("broken at line 3") && e.contains("does not follow"),
        "{e}"
    );
}

#[test]
fn a_removed_line_is_named() {
    let (_dir, path) = written(3);
    edit(&path, |mut l| {
        l.remove(1);
        l
    });
    let e = read(&path).unwrap_err().to_string();
    assert!(e.contains("broken at line 2"), "{e}");
}

#[test]
fn a_symbolic_link_or_a_directory_others_can_write_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("elsewhere");
    std::fs::write(&target, "").unwrap();
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600)).unwrap();
    let link = dir.path().join("ledger");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let e = open(&link).err().expect("a link is refused");
    assert!(e.to_string().contains("not a plain file"), "{e}");
    assert_eq!(std::fs::read(&target).unwrap(), b"");

    let shared = dir.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let e = open(&shared.join("ledger"))
        .err()
        .expect("a shared directory is refused");
    assert!(
        e.to_string().contains("writable by others (mode 1777)"),
        "{e}"
    );
    assert!(!shared.join("ledger").exists());

    let linked = dir.path().join("linked");
    std::os::unix::fs::symlink(dir.path(), &linked).unwrap();
    let e = open(&linked.join("ledger"))
        .err()
        .expect("a linked directory is refused");
    assert!(e.to_string().contains("is a symbolic link"), "{e}");
}

#[test]
fn a_directory_or_file_of_another_user_is_refused() {
    if effective_uid() != Some(0) {
        eprintln!("skipped: only root can give a file to another user here");
        return;
    }
    let nobody = 65534;
    let dir = tempfile::tempdir().unwrap();
    let theirs = dir.path().join("theirs");
    std::fs::create_dir(&theirs).unwrap();
    std::os::unix::fs::chown(&theirs, Some(nobody), Some(nobody)).unwrap();
    let e = open(&theirs.join("ledger"))
        .err()
        .expect("their directory is refused");
    assert!(
        e.to_string()
            .contains("belongs to another user (uid 65534)"),
        "{e}"
    );
    // also higher up: whoever owns a directory above can swap what is below
    let mine = theirs.join("mine");
    std::fs::create_dir(&mine).unwrap();
    std::fs::set_permissions(&mine, std::fs::Permissions::from_mode(0o700)).unwrap();
    let e = open(&mine.join("ledger"))
        .err()
        .expect("a path through theirs is refused");
    assert!(
        e.to_string()
            .contains("on its path belongs to another user"),
        "{e}"
    );
    let (_dir, path) = written(1);
    std::os::unix::fs::chown(&path, Some(nobody), None).unwrap();
    let e = open(&path).err().expect("their file is refused");
    assert!(e.to_string().contains("it belongs to another user"), "{e}");
}

#[test]
fn a_ledger_readable_by_others_is_refused_for_writing() {
    let (_dir, path) = written(1);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let e = open(&path).err().unwrap().to_string();
    assert!(e.contains("chmod 600"), "{e}");
}
