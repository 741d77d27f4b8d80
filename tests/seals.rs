//! The protocol's hash chain: `protocol verify` holds on an intact
//! protocol, however it was written, and names the first row a superuser
//! changed, removed or inserted; a rewritten chain is caught by a seal
//! published before.

mod common;

use common::{expect_code, stderr, TestDb};
use serde_json::Value;
use tokio_postgres::Client;

/// `statements` INSERT statements of `per` rows each: one seal each.
async fn rows(c: &Client, statements: i64, per: i64) {
    for s in 0..statements {
        c.execute(
            "INSERT INTO retention.action_protocol (actor, action, branch_id, guest_id, details)
             SELECT 'seal-test', 'policy_changed', $1::bigint, CASE WHEN n % 2 = 0 THEN n END,
                    jsonb_build_object('n', n, 'note', E'it''s a \\\\ \"quoted\", value')
             FROM generate_series(1, $2::bigint) AS n",
            &[&s, &per],
        )
        .await
        .unwrap();
    }
}

/// As a superuser: runs `sql` with the protocol's and the seals' triggers
/// off, then turns them on again.
async fn tamper(c: &Client, sql: &str) {
    c.batch_execute(&format!(
        "ALTER TABLE retention.action_protocol DISABLE TRIGGER USER;
         ALTER TABLE retention.protocol_seals DISABLE TRIGGER USER;
         {sql};
         ALTER TABLE retention.action_protocol ENABLE ALWAYS TRIGGER action_protocol_append_only;
         ALTER TABLE retention.action_protocol ENABLE ALWAYS TRIGGER action_protocol_no_truncate;
         ALTER TABLE retention.action_protocol ENABLE ALWAYS TRIGGER action_protocol_sealed;
         ALTER TABLE retention.protocol_seals ENABLE ALWAYS TRIGGER protocol_seals_append_only;
         ALTER TABLE retention.protocol_seals ENABLE ALWAYS TRIGGER protocol_seals_no_truncate;"
    ))
    .await
    .unwrap();
}

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

/// `protocol verify --format json [extra]`: (exit code, verdict, stderr).
fn verify(db: &TestDb, extra: &[&str]) -> (i32, Value, String) {
    let mut args = vec!["protocol", "verify", "--format", "json"];
    args.extend_from_slice(extra);
    let out = db.cli(&args);
    let verdict = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap_or(-1), verdict, stderr(&out))
}

#[track_caller]
fn assert_breach(got: (i32, Value, String), problem: &str, row: Option<i64>, says: &str) {
    let (code, verdict, err) = got;
    assert_eq!(code, 3, "{verdict}\n{err}");
    assert_eq!(verdict["intact"], false, "{verdict}");
    assert_eq!(verdict["breach"]["problem"], problem, "{verdict}");
    if let Some(row) = row {
        assert_eq!(verdict["breach"]["row_id"], row, "{verdict}");
    }
    assert!(err.contains(says), "stderr names the problem: {err}");
}

async fn ids(c: &Client) -> Vec<i64> {
    c.query("SELECT id FROM retention.action_protocol ORDER BY id", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
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
