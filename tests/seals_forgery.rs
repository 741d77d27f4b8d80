//! `protocol verify` against what it might not see: a forged row that
//! reuses a sealed row's id (the primary key dropped), a row without an id,
//! a seal that lists a row without an id or one row twice, and the verdict
//! after a rewrite, which vouches only for a seal checked against a
//! published one. Each forgery is done as a superuser would do it.

mod common;

use common::seals::{assert_breach, ids, reseal, rows, tamper, verify, CANONICAL};
use common::{stderr, stdout, TestDb};
use serde_json::Value;

/// As a superuser: drops the protocol's primary key, so that an id can
/// be used twice.
const DROP_KEY: &str = "ALTER TABLE retention.action_protocol DROP CONSTRAINT action_protocol_pkey";

/// A copy of row `id` under the same id; `change` is applied to it.
fn copy_of(id: i64, change: &str) -> String {
    format!(
        "INSERT INTO retention.action_protocol OVERRIDING SYSTEM VALUE
         SELECT id, at, {change}, action, branch_id, guest_id, guest_type, run_id, details
         FROM retention.action_protocol WHERE id = {id}"
    )
}

#[tokio::test]
async fn a_second_row_reusing_a_sealed_id_is_named_wherever_it_stands() {
    // the first row of a seal as an exact copy: the walk used to hash only one of them
    for (pos_in_seal, actor) in [(0, "actor"), (2, "'retentiond'"), (4, "actor")] {
        let db = TestDb::migrated().await;
        let c = db.client().await;
        rows(&c, 3, 5).await;
        let row = ids(&c).await[5 + pos_in_seal]; // in the second seal
        c.batch_execute(DROP_KEY).await.unwrap();
        tamper(&c, &copy_of(row, actor)).await;
        assert_breach(
            verify(&db, &[]),
            "duplicated",
            Some(row),
            &format!("row {row} exists twice in the table (seal 2 lists it once)"),
        );
    }
}

#[tokio::test]
async fn a_second_row_reusing_an_id_is_named_also_when_the_database_sealed_it() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    rows(&c, 2, 3).await;
    let row = ids(&c).await[1];
    // no trigger disabled: the forged row gets a seal of its own
    c.batch_execute(&format!("{DROP_KEY}; {}", copy_of(row, "'retentiond'")))
        .await
        .unwrap();
    assert_breach(
        verify(&db, &[]),
        "duplicated",
        Some(row),
        &format!("row {row} exists twice in the table"),
    );
}

#[tokio::test]
async fn a_row_without_an_id_is_counted_as_outside_the_chain() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    rows(&c, 2, 3).await;
    tamper(
        &c,
        &format!(
            "{DROP_KEY};
             ALTER TABLE retention.action_protocol ALTER id DROP IDENTITY, ALTER id DROP NOT NULL;
             INSERT INTO retention.action_protocol (id, actor, action)
             VALUES (NULL, 'retentiond', 'guest_anonymized')"
        ),
    )
    .await;
    let got = verify(&db, &[]);
    assert_eq!(got.1["breach"]["row_id"], Value::Null, "{}", got.1);
    assert_breach(
        got,
        "unsealed",
        None,
        "1 row(s) without an id were inserted outside the chain",
    );
}

#[tokio::test]
async fn a_seal_listing_a_row_without_an_id_is_a_finding_not_a_crash() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    rows(&c, 3, 3).await;
    tamper(
        &c,
        "UPDATE retention.protocol_seals SET row_ids[2] = NULL WHERE pos = 2",
    )
    .await;
    assert_breach(
        verify(&db, &[]),
        "malformed",
        None,
        "seal 2 lists a row without an id: the database never writes such a seal",
    );
    let out = db.cli(&["protocol", "verify"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
}

#[tokio::test]
async fn a_seal_listing_a_row_twice_is_named_even_when_its_hash_was_redone() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    rows(&c, 3, 3).await;
    let all = ids(&c).await;
    let (kept, gone) = (all[7], all[8]); // the newest seal lists 6, 7, 8
                                         // a row removed, its place in the seal taken by its neighbour, the seal
                                         // and the head recomputed: the chain holds in itself
    tamper(
        &c,
        &format!(
            "DELETE FROM retention.action_protocol WHERE id = {gone};
             UPDATE retention.protocol_seals SET row_ids[3] = {kept} WHERE pos = 3"
        ),
    )
    .await;
    reseal(&c, 3).await;
    assert_breach(
        verify(&db, &[]),
        "listed_twice",
        Some(kept),
        &format!("seal 3 lists row {kept} twice: the database seals each row once"),
    );

    // the same row listed again in a seal of its own, appended to the chain
    let db = TestDb::migrated().await;
    let c = db.client().await;
    rows(&c, 2, 3).await;
    let row = ids(&c).await[1];
    tamper(
        &c,
        &format!(
            "INSERT INTO retention.protocol_seals (pos, row_ids, fingerprints, seal)
             SELECT 3, ARRAY[p.id], ARRAY[hashtextextended({CANONICAL}, 0)], s.seal
             FROM retention.action_protocol p, retention.protocol_seals s
             WHERE p.id = {row} AND s.pos = 2"
        ),
    )
    .await;
    reseal(&c, 3).await;
    assert_breach(
        verify(&db, &[]),
        "listed_twice",
        Some(row),
        &format!("row {row} is listed in seal 1 and again in seal 3"),
    );
}

#[tokio::test]
async fn a_rewound_removed_or_doubled_head_and_a_doubled_seal_are_named() {
    for (forgery, problem, says) in [
        (
            "UPDATE retention.protocol_seal_head
             SET pos = 2, seal = (SELECT seal FROM retention.protocol_seals WHERE pos = 2)",
            "head_rewritten",
            "the chain's head names seal 2, not the chain's last seal 3",
        ),
        (
            "DELETE FROM retention.protocol_seal_head",
            "head_not_one",
            "has 0 rows instead of one",
        ),
        (
            "ALTER TABLE retention.protocol_seal_head DROP CONSTRAINT protocol_seal_head_pkey;
             INSERT INTO retention.protocol_seal_head SELECT * FROM retention.protocol_seal_head",
            "head_not_one",
            "has 2 rows instead of one",
        ),
        (
            "ALTER TABLE retention.protocol_seals DROP CONSTRAINT protocol_seals_pkey;
             INSERT INTO retention.protocol_seals
             SELECT * FROM retention.protocol_seals WHERE pos = 2",
            "seal_twice",
            "seal 2 exists twice",
        ),
    ] {
        let db = TestDb::migrated().await;
        let c = db.client().await;
        rows(&c, 3, 2).await;
        tamper(&c, forgery).await;
        assert_breach(verify(&db, &[]), problem, None, says);
    }
}

/// The newest seal now, as a completed-run mail would publish it.
fn newest(db: &TestDb) -> String {
    let (code, verdict, err) = verify(db, &[]);
    assert_eq!(code, 0, "{verdict} {err}");
    verdict["newest"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn after_tampering_the_verdict_vouches_only_for_a_seal_checked_against_a_published_one() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    rows(&c, 2, 3).await;
    let published = newest(&db); // seal 2
    rows(&c, 1, 3).await;
    let all = ids(&c).await;
    let late = all[7]; // in seal 3, after the published seal
    tamper(
        &c,
        &format!("UPDATE retention.action_protocol SET actor = 'x' WHERE id = {late}"),
    )
    .await;

    // with the published seal: rows up to it are vouched for, by it
    let (code, verdict, _) = verify(&db, &["--seal", &published]);
    assert_eq!(code, 3);
    assert_eq!(verdict["breach"]["problem"], "changed", "{verdict}");
    assert_eq!(verdict["confirmed"], published.as_str(), "{verdict}");
    let out = db.cli(&["protocol", "verify", "--seal", &published]);
    assert!(
        stdout(&out).contains(&format!(
            "Last good seal, checked against the published one: {published}"
        )),
        "{}",
        stdout(&out)
    );

    // without it: no seal is named good, and the verdict says why
    let (_, verdict, _) = verify(&db, &[]);
    assert_eq!(verdict["confirmed"], Value::Null, "{verdict}");
    assert_eq!(verdict["newest"], Value::Null, "{verdict}");
    let out = db.cli(&["protocol", "verify"]);
    let (text, err) = (stdout(&out), stderr(&out));
    assert_eq!(out.status.code(), Some(3));
    assert!(!text.contains("Last good seal"), "{text}");
    assert!(!err.contains("intact"), "{err}");
    assert!(
        text.contains(
            "No seal was checked against a published one, so no row can be taken as intact"
        ),
        "{text}"
    );

    // a row before the published seal changed and the whole chain resealed:
    // the chain holds in itself, the published seal does not vouch for it
    let early = all[1];
    tamper(
        &c,
        &format!(
            "UPDATE retention.action_protocol SET actor = 'y' WHERE id = {early};
             UPDATE retention.action_protocol SET actor = 'seal-test' WHERE id = {late}"
        ),
    )
    .await;
    for pos in 1..=3 {
        reseal(&c, pos).await;
    }
    assert_eq!(verify(&db, &[]).0, 0, "a rewritten chain holds in itself");
    let (code, verdict, _) = verify(&db, &["--seal", &published]);
    assert_eq!(code, 3);
    assert_eq!(verdict["confirmed"], Value::Null, "{verdict}");
    let out = db.cli(&["protocol", "verify", "--seal", &published]);
    let text = stdout(&out);
    assert!(!text.contains("Last good seal"), "{text}");
    let row = published.split(':').next().unwrap();
    assert!(
        text.contains(&format!(
            "The published seal of row {row} does not vouch for any row"
        )),
        "{text}"
    );
}

#[tokio::test]
async fn a_chain_cut_off_at_its_end_with_the_head_rewound_is_caught_by_a_published_seal() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    rows(&c, 3, 2).await;
    let published = newest(&db);
    tamper(
        &c,
        "DELETE FROM retention.action_protocol
         WHERE id = ANY ((SELECT row_ids FROM retention.protocol_seals WHERE pos = 3)::bigint[]);
         DELETE FROM retention.protocol_seals WHERE pos = 3;
         UPDATE retention.protocol_seal_head
         SET pos = 2, seal = (SELECT seal FROM retention.protocol_seals WHERE pos = 2)",
    )
    .await;
    assert_eq!(verify(&db, &[]).0, 0, "the shorter chain holds in itself");
    let row: i64 = published.split(':').next().unwrap().parse().unwrap();
    assert_breach(
        verify(&db, &["--seal", &published]),
        "published_row_missing",
        Some(row),
        &format!("the published seal names row {row}, which no seal lists"),
    );
}
