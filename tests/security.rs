//! What retentiond promises about data it hands out or keeps: exports are
//! private files that never replace what they were not told to; database
//! errors in our records carry no row contents; an erasure request's free
//! text is blanked once decided; secrets never show, in any form.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::process::Stdio;
use std::time::Duration;

use common::{day, expect_code, fx, stderr, stdout, TestDb};
use tokio_postgres::Client;

async fn guest(c: &Client) -> (i64, i64) {
    let b = fx::branch(c, "Köln", None).await;
    fx::policy(c, b, "guest", "3 years").await;
    let g = fx::guest(c, b, day("2020-01-01")).await;
    fx::sale(c, g, day("2020-01-01")).await;
    (b, g)
}

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

#[tokio::test]
async fn a_database_error_is_recorded_without_the_row_it_quotes() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let (b, g) = guest(&c).await;
    c.execute(
        "UPDATE guests SET city = 'Wolkenkuckucksheim', notes = 'Allergie' WHERE id = $1",
        &[&g],
    )
    .await
    .unwrap();
    fx::branch_settings_auto_delete(&c, b).await;
    c.execute(
        "UPDATE retention.branch_settings SET notify_addresses = ARRAY['manager@example.org']
         WHERE branch_id = $1",
        &[&b],
    )
    .await
    .unwrap();
    // the POS refuses anonymized names: its error quotes the whole row
    c.batch_execute(
        "ALTER TABLE guests ADD CONSTRAINT pos_names CHECK (last_name <> 'DSGVO') NOT VALID",
    )
    .await
    .unwrap();
    let out = db.cli_env(&["run", "--yes"], &[("RETENTIOND__MAIL__TRANSPORT", "log")]);
    expect_code(&out, 1);
    // the full error goes to the log only
    assert!(stderr(&out).contains("pos_names"), "{}", stderr(&out));
    let error: String = c
        .query_one("SELECT error FROM retention.runs", &[])
        .await
        .unwrap()
        .get(0);
    assert!(error.contains("SQLSTATE 23514"), "{error}");
    let details: serde_json::Value = c
        .query_one(
            "SELECT details FROM retention.action_protocol WHERE action = 'run_finished'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let mail: String = c
        .query_one("SELECT body_text FROM retention.mail_outbox", &[])
        .await
        .unwrap()
        .get(0);
    for (what, text) in [
        ("runs.error", error.clone()),
        ("protocol", details.to_string()),
        ("mail", mail),
        ("stdout", stdout(&out)),
    ] {
        assert!(!text.contains("Failing row"), "{what}: {text}");
        assert!(!text.contains("Wolkenkuckucksheim"), "{what}: {text}");
        assert!(!text.contains("Allergie"), "{what}: {text}");
    }
}

#[tokio::test]
async fn an_erasure_requests_reason_is_blanked_once_decided() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let reviewer = db.login("reviewer").await;
    let (_, g) = guest(&c).await;
    let (_, h) = guest(&c).await;
    for (guest, decide) in [(g, "approve"), (h, "reject")] {
        expect_code(
            &db.cli(&[
                "erasure",
                "request",
                "--guest",
                &guest.to_string(),
                "--reason",
                "Brief von Erika Mustermann",
                "--actor",
                "alice",
            ]),
            0,
        );
        let id: i64 = c
            .query_one(
                "SELECT id FROM retention.erasure_requests WHERE guest_id = $1",
                &[&guest],
            )
            .await
            .unwrap()
            .get(0);
        let mut args = vec![
            "erasure".to_string(),
            decide.to_string(),
            "--request".to_string(),
            id.to_string(),
            "--actor".to_string(),
            "bob".to_string(),
        ];
        if decide == "reject" {
            args.extend(["--reason".to_string(), "no identity shown".to_string()]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        expect_code(&db.cli_as(&reviewer, &args), 0);
        let reason: Option<String> = c
            .query_one(
                "SELECT reason FROM retention.erasure_requests WHERE id = $1",
                &[&id],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(reason, None, "{decide}");
        let given = fx::count(
            &c,
            &format!(
                "SELECT count(*) FROM retention.action_protocol
                 WHERE details->>'request_id' = '{id}' AND (details->>'reason_given')::boolean"
            ),
        )
        .await;
        assert_eq!(
            given, 1,
            "{decide}: the protocol keeps that a reason was given"
        );
    }
}

#[tokio::test]
async fn no_form_of_the_database_password_is_ever_printed() {
    let db = TestDb::migrated().await;
    for url in [
        "host=127.0.0.1 user=app password = s3cret dbname=guests",
        "host=127.0.0.1 user=app password='s3cret with spaces' dbname=guests",
        "postgres://app:s3%63ret@127.0.0.1/guests",
        "postgres://127.0.0.1/guests?user=app&password=s3cret",
    ] {
        let out = db.cli_env(&["check-config"], &[("RETENTIOND__DATABASE__URL", url)]);
        let shown = expect_code(&out, 0);
        assert!(!shown.contains("s3c"), "{url}: {shown}");
        assert!(shown.contains("***"), "{url}: {shown}");
    }
    // a string the driver cannot read is not quoted back at all
    let out = db.cli_env(
        &["check-config"],
        &[(
            "RETENTIOND__DATABASE__URL",
            "host=db password='s3cret unterminated",
        )],
    );
    expect_code(&out, 2);
    assert!(!stderr(&out).contains("s3c"), "{}", stderr(&out));
}

#[tokio::test]
async fn the_database_password_can_come_from_a_file_that_is_never_printed() {
    let db = TestDb::migrated().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("db-password");
    std::fs::write(&file, "s3cret\n").unwrap();
    let out = db.cli_env(
        &["check-config"],
        &[(
            "RETENTIOND__DATABASE__PASSWORD_FILE",
            file.to_str().unwrap(),
        )],
    );
    let shown = expect_code(&out, 0);
    assert!(shown.contains(file.to_str().unwrap()), "{shown}");
    assert!(!shown.contains("s3c"), "{shown}");
    // commands work with it (the test cluster trusts, but reads the file)
    expect_code(
        &db.cli_env(
            &["status"],
            &[(
                "RETENTIOND__DATABASE__PASSWORD_FILE",
                file.to_str().unwrap(),
            )],
        ),
        0,
    );
    let missing = dir.path().join("nope");
    let out = db.cli_env(
        &["check-config"],
        &[(
            "RETENTIOND__DATABASE__PASSWORD_FILE",
            missing.to_str().unwrap(),
        )],
    );
    expect_code(&out, 2);
    assert!(
        stderr(&out).contains("database.password_file"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test]
async fn the_runtime_role_runs_every_command_and_owns_nothing() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let (b, g) = guest(&c).await;
    let runtime = db.login("runtime").await;
    let dir = tempfile::tempdir().unwrap();
    let zip = dir.path().join("guest.zip");
    let (bs, gs) = (b.to_string(), g.to_string());
    for (args, code) in [
        (
            vec![
                "policy",
                "set",
                "--branch",
                &bs,
                "--type",
                "regular_guest",
                "--period",
                "5 years",
            ],
            0,
        ),
        (vec!["policy", "show"], 0),
        (
            vec![
                "settings",
                "set",
                "--branch",
                &bs,
                "--notify",
                "manager@example.org",
            ],
            0,
        ),
        (vec!["settings", "show"], 0),
        (vec!["pending"], 0),
        (vec!["classify", "--guest", &gs], 0),
        (
            vec!["export", "--guest", &gs, "--out", zip.to_str().unwrap()],
            0,
        ),
        (vec!["run", "--yes"], 0),
        (vec!["erasure", "list"], 0),
        (vec!["notify", "pending", "--branch", &bs], 0),
        (vec!["outbox", "list"], 0),
        (vec!["protocol", "--guest", &gs], 0),
        (vec!["protocol", "verify"], 0),
        (vec!["status"], 0),
    ] {
        let out = db.cli_as(&runtime, &args);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{args:?} as the runtime role:\n{}{}",
            stdout(&out),
            stderr(&out)
        );
    }
    assert_eq!(
        fx::count(
            &c,
            &format!("SELECT count(*) FROM guests WHERE id = {g} AND anonymized_at IS NOT NULL")
        )
        .await,
        1,
        "the run as the runtime role anonymized"
    );
    // migrate is the owner's
    let out = db.cli_as(&runtime, &["migrate"]);
    assert_ne!(out.status.code(), Some(0));
}

#[tokio::test]
async fn the_runtime_role_cannot_change_remove_or_unprotect_the_protocol() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let (b, _) = guest(&c).await;
    let runtime = db.login("runtime").await;
    expect_code(&db.cli_as(&runtime, &["run", "--yes"]), 0);
    let rows = fx::count(&c, "SELECT count(*) FROM retention.action_protocol").await;
    assert!(rows > 0);
    let as_runtime = common::connect(&runtime).await;
    for sql in [
        "UPDATE retention.action_protocol SET actor = 'nobody'",
        "DELETE FROM retention.action_protocol",
        "TRUNCATE retention.action_protocol",
        "ALTER TABLE retention.action_protocol DISABLE TRIGGER ALL",
        "ALTER TABLE retention.action_protocol ADD COLUMN note text",
        "DROP TABLE retention.action_protocol",
        "CREATE OR REPLACE FUNCTION retention.valid_time_zone(name text) RETURNS boolean
         LANGUAGE sql AS $$ SELECT true $$",
        // the hash chain is the database's to write
        "ALTER TABLE retention.action_protocol DISABLE TRIGGER action_protocol_sealed",
        "INSERT INTO retention.protocol_seals VALUES (99, '{}', '{}', decode(repeat('00', 32), 'hex'))",
        "UPDATE retention.protocol_seals SET seal = seal",
        "DELETE FROM retention.protocol_seals",
        "UPDATE retention.protocol_seal_head SET pos = 0",
        "CREATE OR REPLACE FUNCTION retention.seal_protocol_rows() RETURNS trigger
         LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$",
    ] {
        let e = as_runtime.batch_execute(sql).await.expect_err(sql);
        let code = e.code().map(|c| c.code().to_string()).unwrap_or_default();
        assert!(
            code == "42501" || code == "P0001",
            "{sql}: expected a refusal, got {code} {e}"
        );
    }
    assert_eq!(
        fx::count(&c, "SELECT count(*) FROM retention.action_protocol").await,
        rows
    );
    // what the role did write is sealed, and it can check the chain
    expect_code(&db.cli_as(&runtime, &["protocol", "verify"]), 0);
    let _ = b;
}

#[tokio::test]
async fn four_eyes_are_bound_to_the_database_login_and_enforced_by_the_database() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let (_, g) = guest(&c).await;
    let alice = db.login("alice").await;
    let bob = db.login("bob").await;
    let request = |actor: &str| {
        db.cli_as(
            &alice,
            &[
                "erasure",
                "request",
                "--guest",
                &g.to_string(),
                "--reason",
                "Brief",
                "--actor",
                actor,
            ],
        )
    };
    expect_code(&request("alice"), 0);
    let id: i64 = c
        .query_one("SELECT id FROM retention.erasure_requests", &[])
        .await
        .unwrap()
        .get(0);
    let ids = id.to_string();
    // the same login under another label is still the same person
    let out = db.cli_as(
        &alice,
        &["erasure", "approve", "--request", &ids, "--actor", "bob"],
    );
    expect_code(&out, 2);
    assert!(stderr(&out).contains("four-eyes"), "{}", stderr(&out));
    // and the database refuses it even without retentiond's check
    let as_alice = common::connect(&alice).await;
    let e = as_alice
        .execute(
            "UPDATE retention.erasure_requests
             SET status = 'approved', decided_by = 'bob', decided_at = now() WHERE id = $1",
            &[&id],
        )
        .await
        .expect_err("the requester's login cannot approve");
    assert!(
        e.to_string().contains("four-eyes") || format!("{e:?}").contains("four-eyes"),
        "{e:?}"
    );
    // another login cannot withdraw it; the requester can
    let out = db.cli_as(&bob, &["erasure", "withdraw", "--request", &ids]);
    expect_code(&out, 2);
    expect_code(
        &db.cli_as(&alice, &["erasure", "withdraw", "--request", &ids]),
        0,
    );
    let (status, login): (String, Option<String>) = c
        .query_one(
            "SELECT status, decided_login FROM retention.erasure_requests WHERE id = $1",
            &[&id],
        )
        .await
        .map(|r| (r.get(0), r.get(1)))
        .unwrap();
    assert_eq!(status, "withdrawn");
    assert!(login.unwrap().ends_with("_alice"));
    // a new request, approved by a second login
    expect_code(&request("alice"), 0);
    let id: i64 = c
        .query_one(
            "SELECT id FROM retention.erasure_requests WHERE status = 'open'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let out = db.cli_as(
        &bob,
        &[
            "erasure",
            "approve",
            "--request",
            &id.to_string(),
            "--actor",
            "alice",
        ],
    );
    expect_code(&out, 0);
    let details: serde_json::Value = c
        .query_one(
            "SELECT details FROM retention.action_protocol WHERE action = 'erasure_approved'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(
        details["requested_login"]
            .as_str()
            .unwrap()
            .ends_with("_alice"),
        "{details}"
    );
    assert!(
        details["approved_login"]
            .as_str()
            .unwrap()
            .ends_with("_bob"),
        "{details}"
    );
}
