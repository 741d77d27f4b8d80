//! Exports are private files that never replace what they were not told
//! to: mode 0600 even under umask 022, no file that appears while the export
//! runs is replaced, no planted symlink is followed, and a killed export's
//! temporary file is cleaned up.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::process::Stdio;
use std::time::Duration;

use common::security::guest;
use common::{expect_code, fx, stderr, TestDb};

/// `retentiond export` under umask 022.
fn export(db: &TestDb, guest: i64, out: &std::path::Path, extra: &[&str]) -> std::process::Output {
    let bin = env!("CARGO_BIN_EXE_retentiond");
    let mut args = vec![
        "-c".to_string(),
        "umask 022 && exec \"$0\" \"$@\"".to_string(),
        bin.to_string(),
        "export".to_string(),
        "--guest".to_string(),
        guest.to_string(),
        "--out".to_string(),
        out.display().to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let cmd = db.command(&[], &[]);
    let envs: Vec<(String, String)> = cmd
        .get_envs()
        .filter_map(|(k, v)| Some((k.to_str()?.to_string(), v?.to_str()?.to_string())))
        .collect();
    std::process::Command::new("sh")
        .args(&args)
        .env_clear()
        .envs(envs)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[tokio::test]
async fn an_export_is_private_to_its_owner_even_under_umask_022() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let (_, g) = guest(&c).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("guest.zip");
    expect_code(&export(&db, g, &out, &[]), 0);
    let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "mode {mode:o}");
    let files: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(files.len(), 1, "no temporary file is left");
}

#[tokio::test]
async fn an_export_never_replaces_a_file_that_appears_while_it_runs() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let (_, g) = guest(&c).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("guest.zip");
    // the export waits on its snapshot; meanwhile somebody writes the target
    let holder = db.client().await;
    holder
        .batch_execute("BEGIN; LOCK TABLE public.invoices IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    let child = db
        .command(
            &[
                "export",
                "--guest",
                &g.to_string(),
                "--out",
                out.to_str().unwrap(),
            ],
            &[],
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;
    std::fs::write(&out, "somebody else's file").unwrap();
    holder.batch_execute("ROLLBACK").await.unwrap();
    let result = child.wait_with_output().unwrap();
    expect_code(&result, 2);
    assert!(
        stderr(&result).contains("exists already"),
        "{}",
        stderr(&result)
    );
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "somebody else's file"
    );
    assert_eq!(
        fx::count(
            &c,
            "SELECT count(*) FROM retention.action_protocol WHERE action = 'export_created'"
        )
        .await,
        0,
        "nothing was handed out"
    );
}

#[tokio::test]
async fn an_export_follows_no_planted_symlink_and_cleans_up_after_a_killed_one() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let (_, g) = guest(&c).await;
    let dir = tempfile::tempdir().unwrap();
    let victim = dir.path().join("victim.txt");
    std::fs::write(&victim, "keep me").unwrap();
    let out = dir.path().join("guest.zip");
    std::os::unix::fs::symlink(&victim, &out).unwrap();
    // a temporary file of an export whose process is gone
    let stale = dir.path().join(".guest.zip.999999999.abc.retentiond-tmp");
    std::fs::write(&stale, "half an export").unwrap();
    let refused = export(&db, g, &out, &[]);
    expect_code(&refused, 2);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me");
    // with --force the link itself is replaced, atomically, not its target
    expect_code(&export(&db, g, &out, &["--force"]), 0);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me");
    assert!(!std::fs::symlink_metadata(&out)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(
        !stale.exists(),
        "the killed export's temporary file is removed"
    );
    assert_eq!(
        fx::count(
            &c,
            "SELECT count(*) FROM retention.action_protocol WHERE action = 'export_created'"
        )
        .await,
        1
    );
}
