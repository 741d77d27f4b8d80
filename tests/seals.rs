//! The protocol's hash chain: `protocol verify` holds on an intact
//! protocol, however it was written, and names the first row a superuser
//! changed, removed or inserted; a rewritten chain is caught by a seal
//! published before. The chain's head only moves forward, and a session
//! that holds it cannot stall the protocol's writers.

mod common;

use std::time::{Duration, Instant};

use common::seals::{assert_breach, ids, rows, tamper, verify};
use common::{expect_code, fx, stderr, TestDb};
use serde_json::Value;
use tokio_postgres::error::SqlState;
use tokio_postgres::Client;

/// As a superuser: removes a seal and the rows it lists.
async fn remove_seal(c: &Client, pos: i64) {
    tamper(
        c,
        &format!(
            "DELETE FROM retention.action_protocol
             WHERE id = ANY ((SELECT row_ids FROM retention.protocol_seals WHERE pos = {pos})::bigint[]);
             DELETE FROM retention.protocol_seals WHERE pos = {pos}"
        ),
    )
    .await;
}

#[tokio::test]
async fn an_intact_protocol_verifies_and_names_its_newest_seal() {
    let db = TestDb::migrated().await;
    let (code, verdict, _) = verify(&db, &[]);
    assert_eq!(code, 0);
    assert_eq!(verdict["intact"], true);
    assert_eq!(verdict["newest"], Value::Null, "nothing sealed yet");

    let c = db.client().await;
    rows(&c, 3, 5).await;
    rows(&c, 1, 1).await;
    let (code, verdict, err) = verify(&db, &[]);
    assert_eq!(code, 0, "{verdict} {err}");
    assert_eq!(verdict["rows"], 16);
    assert_eq!(verdict["seals"], 4, "one seal per statement");
    let last = *ids(&c).await.last().unwrap();
    let newest = verdict["newest"].as_str().unwrap();
    assert!(newest.starts_with(&format!("{last}:")), "{newest}");
    // the newest seal is the one to publish: verify accepts it
    assert_eq!(verify(&db, &["--seal", newest]).0, 0);
    let text = expect_code(&db.cli(&["protocol", "verify"]), 0);
    assert!(text.contains("is intact: 16 row(s) in 4 seal(s)"), "{text}");
}

#[tokio::test]
async fn a_changed_row_is_named_whichever_column_was_changed() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    rows(&c, 3, 5).await;
    let row = ids(&c).await[7]; // inside the second seal
    for (change, restore) in [
        ("actor = 'someone else'", "actor = 'seal-test'"),
        (
            "at = at + interval '1 microsecond'",
            "at = at - interval '1 microsecond'",
        ),
        ("branch_id = NULL", "branch_id = 1"),
        ("guest_id = 4711", "guest_id = NULL"),
        ("action = 'run_finished'", "action = 'policy_changed'"),
        ("guest_type = 'guest'", "guest_type = NULL"),
        ("run_id = 7", "run_id = NULL"),
        (
            "details = details || '{\"n\": 0}'",
            "details = details || '{\"n\": 3}'",
        ),
    ] {
        tamper(
            &c,
            &format!("UPDATE retention.action_protocol SET {change} WHERE id = {row}"),
        )
        .await;
        assert_breach(
            verify(&db, &[]),
            "changed",
            Some(row),
            &format!("row {row} was changed after it was sealed"),
        );
        tamper(
            &c,
            &format!("UPDATE retention.action_protocol SET {restore} WHERE id = {row}"),
        )
        .await;
        let (code, verdict, err) = verify(&db, &[]);
        assert_eq!(code, 0, "restored by {restore}: {verdict} {err}");
    }
    // the same row under a new id: the sealed one is gone
    tamper(
        &c,
        &format!(
            "INSERT INTO retention.action_protocol OVERRIDING SYSTEM VALUE
             SELECT id + 1000, at, actor, action, branch_id, guest_id, guest_type, run_id, details
             FROM retention.action_protocol WHERE id = {row};
             DELETE FROM retention.action_protocol WHERE id = {row}"
        ),
    )
    .await;
    assert_breach(
        verify(&db, &[]),
        "removed",
        Some(row),
        &format!("row {row} was removed"),
    );
}

#[tokio::test]
async fn a_removed_row_and_a_removed_seal_are_named() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    rows(&c, 4, 3).await;
    let all = ids(&c).await;
    tamper(
        &c,
        &format!(
            "DELETE FROM retention.action_protocol WHERE id = {}",
            all[4]
        ),
    )
    .await;
    assert_breach(
        verify(&db, &[]),
        "removed",
        Some(all[4]),
        &format!("row {} was removed", all[4]),
    );

    let db = TestDb::migrated().await;
    let c = db.client().await;
    rows(&c, 4, 3).await;
    // the second seal with all its rows
    remove_seal(&c, 2).await;
    assert_breach(verify(&db, &[]), "seal_removed", None, "seal 2 was removed");

    // the newest seal with its rows: the head still names it
    let db = TestDb::migrated().await;
    let c = db.client().await;
    rows(&c, 4, 3).await;
    remove_seal(&c, 4).await;
    assert_breach(
        verify(&db, &[]),
        "tail_removed",
        None,
        "newest seals were removed",
    );
}

#[tokio::test]
async fn a_row_inserted_outside_the_chain_is_named() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    rows(&c, 2, 3).await;
    let forged: i64 = c
        .query_one("SELECT min(id) - 1 FROM retention.action_protocol", &[])
        .await
        .unwrap()
        .get(0);
    tamper(
        &c,
        &format!(
            "INSERT INTO retention.action_protocol (id, actor, action)
             OVERRIDING SYSTEM VALUE VALUES ({forged}, 'retentiond', 'guest_anonymized')"
        ),
    )
    .await;
    assert_breach(
        verify(&db, &[]),
        "unsealed",
        Some(forged),
        &format!("row {forged} was inserted outside the chain"),
    );
}

#[tokio::test]
async fn a_rewritten_chain_is_caught_by_a_seal_published_before() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    rows(&c, 3, 4).await;
    let (_, verdict, _) = verify(&db, &[]);
    let published = verdict["newest"].as_str().unwrap().to_string();
    let row = ids(&c).await[1];
    // a superuser changes a row and seals everything again from the start,
    // exactly as the database would
    tamper(
        &c,
        &format!(
            "UPDATE retention.action_protocol SET actor = 'nobody' WHERE id = {row};
             DELETE FROM retention.protocol_seals;
             UPDATE retention.protocol_seal_head SET pos = 0, seal = decode(repeat('00', 32), 'hex');
             INSERT INTO retention.action_protocol (actor, action)
             SELECT actor, action FROM retention.action_protocol WHERE false"
        ),
    )
    .await;
    c.batch_execute(
        "CREATE TEMP TABLE resealed AS
         SELECT p.id, concat_ws(',', p.id, (extract(epoch FROM p.at) * 1000000)::bigint,
                quote_nullable(p.actor), quote_nullable(p.action),
                coalesce(p.branch_id::text, '-'), coalesce(p.guest_id::text, '-'),
                quote_nullable(p.guest_type), coalesce(p.run_id::text, '-'),
                quote_nullable(p.details::text)) AS canonical
         FROM retention.action_protocol p;
         INSERT INTO retention.protocol_seals (pos, row_ids, fingerprints, seal)
         SELECT 1, array_agg(id ORDER BY id), array_agg(hashtextextended(canonical, 0) ORDER BY id),
                sha256(decode(repeat('00', 32), 'hex')
                       || string_agg(convert_to(canonical, 'UTF8'), '\\x0a'::bytea ORDER BY id))
         FROM resealed;
         UPDATE retention.protocol_seal_head
         SET pos = 1, seal = (SELECT seal FROM retention.protocol_seals WHERE pos = 1);",
    )
    .await
    .unwrap();
    let (code, verdict, _) = verify(&db, &[]);
    assert_eq!(code, 0, "a rewritten chain holds in itself: {verdict}");
    let row_of_seal: i64 = published.split(':').next().unwrap().parse().unwrap();
    assert_breach(
        verify(&db, &["--seal", &published]),
        "not_as_published",
        Some(row_of_seal),
        "is not the one published",
    );
}

#[tokio::test]
async fn concurrent_writers_keep_one_unbroken_chain() {
    let db = TestDb::migrated().await;
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let c = db.client().await;
        tasks.push(tokio::spawn(async move {
            for _ in 0..25 {
                rows(&c, 1, 3).await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let (code, verdict, err) = verify(&db, &[]);
    assert_eq!(code, 0, "{verdict} {err}");
    assert_eq!(verdict["rows"], 600);
    assert_eq!(verdict["seals"], 200);
}

#[tokio::test]
async fn a_bad_seal_argument_is_refused_with_the_expected_form() {
    let db = TestDb::migrated().await;
    let out = db.cli(&["protocol", "verify", "--seal", "4711"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("is not a seal: expected ROW:HASH"),
        "{}",
        stderr(&out)
    );
}

/// A second session that wrote a protocol row and keeps its transaction
/// open: it holds the chain's head. Returns it with its backend pid.
async fn hold_the_head(db: &TestDb) -> (Client, i32) {
    let holder = db.client().await;
    let pid: i32 = holder
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0);
    holder
        .batch_execute(
            "BEGIN;
             INSERT INTO retention.action_protocol (actor, action) VALUES ('holder', 'settings_changed')",
        )
        .await
        .unwrap();
    (holder, pid)
}

async fn count(c: &Client, sql: &str) -> i64 {
    c.query_one(sql, &[]).await.unwrap().get(0)
}

#[tokio::test]
async fn a_protocol_write_gives_up_on_a_seal_head_another_session_holds() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let branch = fx::branch(&c, "Mitte", None).await.to_string();
    let protocol_before = count(&c, "SELECT count(*) FROM retention.action_protocol").await;
    let (holder, pid) = hold_the_head(&db).await;

    let started = Instant::now();
    let mut child = db
        .command(
            &[
                "policy", "set", "--branch", &branch, "--type", "guest", "--period", "3 years",
            ],
            &[],
        )
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // the bound is 10 s; a writer that hangs on the head fails this test
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(40) {
            child.kill().unwrap();
            panic!("`policy set` still waits for the seal head after 40 s");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let waited = started.elapsed();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "the action protocol's seal head is held by another session (pid {pid})"
        )) && err.contains("gave up after 10000 ms, nothing was written")
            && err.contains("pg_terminate_backend"),
        "{err}"
    );
    assert!(
        waited >= Duration::from_secs(9),
        "gave up early: {waited:?}"
    );
    // nothing was written: no policy, no protocol row
    let policies = "SELECT count(*) FROM retention.policies";
    assert_eq!(count(&c, policies).await, 0);
    let protocol = "SELECT count(*) FROM retention.action_protocol";
    assert_eq!(count(&c, protocol).await, protocol_before);

    holder.batch_execute("ROLLBACK").await.unwrap();
    let args = [
        "policy", "set", "--branch", &branch, "--type", "guest", "--period", "3 years",
    ];
    expect_code(&db.cli(&args), 0);
    assert_eq!(count(&c, policies).await, 1);
    assert_eq!(verify(&db, &[]).0, 0);
}

#[tokio::test]
async fn a_shorter_lock_timeout_of_the_writer_is_kept_and_fails_as_a_lock_timeout() {
    let db = TestDb::migrated().await;
    let (_holder, pid) = hold_the_head(&db).await;
    // as a batch does with batch.lock_timeout
    let writer = db.client().await;
    writer
        .batch_execute("SET lock_timeout = '300ms'")
        .await
        .unwrap();
    let started = Instant::now();
    let e = writer
        .execute(
            "INSERT INTO retention.action_protocol (actor, action) VALUES ('writer', 'settings_changed')",
            &[],
        )
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    // 55P03, as any lock timeout: a batch leaves its guests for the next run
    assert_eq!(e.code(), Some(&SqlState::LOCK_NOT_AVAILABLE), "{e:?}");
    let message = e.as_db_error().unwrap().message().to_string();
    assert!(
        message.contains(&format!("held by another session (pid {pid})"))
            && message.contains("gave up after 300 ms"),
        "{message}"
    );
    let timeout: String = writer
        .query_one("SHOW lock_timeout", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        timeout, "300ms",
        "the writer's own setting is left as it was"
    );
}

#[tokio::test]
async fn the_seal_head_only_moves_forward_also_for_a_superuser() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    rows(&c, 3, 2).await;
    let head = "SELECT pos, encode(seal, 'hex') FROM retention.protocol_seal_head";
    let before: Vec<(i64, String)> = c
        .query(head, &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    for attempt in [
        // rewound to the seal before, as after removing the newest seal
        "UPDATE retention.protocol_seal_head
         SET pos = pos - 1, seal = (SELECT seal FROM retention.protocol_seals WHERE pos = 2)",
        "UPDATE retention.protocol_seal_head SET pos = 0, seal = decode(repeat('00', 32), 'hex')",
        "UPDATE retention.protocol_seal_head SET pos = pos + 1",
        "UPDATE retention.protocol_seal_head SET seal = sha256(seal)",
        "SET LOCAL session_replication_role = replica;
         UPDATE retention.protocol_seal_head
         SET pos = pos - 1, seal = (SELECT seal FROM retention.protocol_seals WHERE pos = 2)",
        "DELETE FROM retention.protocol_seal_head",
        "DELETE FROM retention.protocol_seal_head WHERE false",
        "TRUNCATE retention.protocol_seal_head",
        "ALTER TABLE retention.protocol_seal_head DROP CONSTRAINT protocol_seal_head_pkey;
         INSERT INTO retention.protocol_seal_head (pos, seal)
         SELECT pos - 1, seal FROM retention.protocol_seal_head",
    ] {
        let e = c
            .batch_execute(&format!("BEGIN; {attempt}; COMMIT"))
            .await
            .unwrap_err();
        c.batch_execute("ROLLBACK").await.unwrap();
        assert_eq!(
            e.code(),
            Some(&SqlState::INSUFFICIENT_PRIVILEGE),
            "{attempt}: {e:?}"
        );
        let message = e.as_db_error().unwrap().message().to_string();
        assert!(
            message.contains("only moves forward, one seal at a time")
                || message.contains("is never removed"),
            "{attempt}: {message}"
        );
    }
    let after: Vec<(i64, String)> = c
        .query(head, &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(after, before, "the head is as it was");
    // the database's own step forward still works
    rows(&c, 1, 2).await;
    let (code, verdict, err) = verify(&db, &[]);
    assert_eq!(code, 0, "{verdict} {err}");
    assert_eq!(verdict["seals"], 4);
}
