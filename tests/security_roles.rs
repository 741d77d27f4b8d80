//! Database logins: the runtime role runs every command, owns nothing and
//! cannot change, remove or unprotect the protocol; four eyes are bound to
//! the database login and enforced by the database itself.

mod common;

use common::security::guest;
use common::{expect_code, fx, stderr, stdout, TestDb};

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
    // and the database refuses it even without retentiond's check: through
    // the API, and in plain SQL (no privilege at all)
    let as_alice = common::connect(&alice).await;
    let e = as_alice
        .execute(
            "SELECT * FROM retention_api.erasure_approve($1, 'bob')",
            &[&id],
        )
        .await
        .expect_err("the requester's login cannot approve");
    assert!(format!("{e:?}").contains("four-eyes"), "{e:?}");
    let e = as_alice
        .execute(
            "UPDATE retention.erasure_requests
             SET status = 'approved', decided_by = 'bob', decided_at = now() WHERE id = $1",
            &[&id],
        )
        .await
        .expect_err("no login updates requests directly");
    assert_eq!(e.code().map(|c| c.code()), Some("42501"), "{e:?}");
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
