//! The ledger against those who would go around it: a login that claims a
//! restore and points a replay at a guest nobody approved; the owner's
//! hand-written protocol rows that no reader may choke on; a ledger whose
//! seals the database holds none of (another database, or a restore of a
//! dump from before the ledger began) that only the operator can accept;
//! an erasure sealed between two seals the ledger saw, replayed after a
//! restore, also when a new request took its id again.

mod common;

use common::ledger::{
    approved_erasure, approved_erasure_env, count, dump, json, lines, restore, set_period, verify,
    world,
};
use common::{expect_code, TestDb};
use serde_json::Value;

/// The ledger's erasure line: (seal position, seal hash).
fn erasure_line(ledger: &std::path::Path) -> (i64, String) {
    let all = lines(ledger);
    let e = all
        .iter()
        .find(|l| l["kind"] == "erasure")
        .unwrap_or_else(|| panic!("an erasure line: {all:?}"));
    (
        e["seal_pos"].as_i64().unwrap(),
        e["seal_hash"].as_str().unwrap().to_string(),
    )
}

/// The first missing seal the restore_detected row records.
async fn missing_from(c: &tokio_postgres::Client) -> i64 {
    c.query_one(
        "SELECT (details ->> 'missing_from')::bigint FROM retention.action_protocol
         WHERE action = 'restore_detected'",
        &[],
    )
    .await
    .unwrap()
    .get(0)
}

#[tokio::test]
async fn a_login_points_no_replay_at_a_guest_nobody_approved() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let (other, erased) = world(&c).await;
    let request = approved_erasure(&db, erased).await;
    let (seal_pos, seal_hash) = erasure_line(&db.ledger);
    let head: i64 = c
        .query_one("SELECT pos FROM retention.protocol_seal_head", &[])
        .await
        .unwrap()
        .get(0);
    let mallory = db.login("mallory").await;
    let m = common::connect(&mallory).await;

    // restores that cannot have happened are refused
    let claim = "SELECT retention_api.restore_detected($1, $2, $3::text::timestamptz, 'mallory')";
    for (from, to, seen) in [
        (1, i64::MAX, "-infinity"),
        (1, 2, "infinity"),
        (head + 5, head + 6, "2026-11-01 00:00+00"),
        // a century ago, or days ahead
        (1, 2, "1900-01-01 00:00+00"),
        (
            1,
            2,
            &(chrono::Utc::now() + chrono::Duration::days(2)).to_rfc3339(),
        ),
        (1, 1_000_000_000_000_000, "now"),
    ] {
        let e = m.execute(claim, &[&from, &to, &seen]).await.unwrap_err();
        assert_eq!(
            e.code().map(|c| c.code()),
            Some("RT001"),
            "{from} {to} {seen}: {e}"
        );
    }
    // one that could: the login claims the approval's seal was lost
    m.execute(claim, &[&1i64, &(seal_pos + 1), &"now"])
        .await
        .unwrap();
    let replay = "SELECT retention_api.erasure_replay($1, $2, $3, $4, 'a', 'b',
                                                       now() - interval '1 minute', 'mallory')";
    // the true request, seal and hash, named for another guest: the database
    // cannot tell (after a restore the request may be gone, or its id taken
    // again by a new one); the ledger can
    let outcome: String = m
        .query_one(replay, &[&request, &other, &seal_pos, &seal_hash])
        .await
        .unwrap()
        .get(0);
    assert_eq!(outcome, "replayed");
    let (code, verdict, err) = verify(&db, &[]);
    assert_eq!(code, 3, "{verdict}\n{err}");
    assert_eq!(
        verdict["breach"]["problem"], "replay_not_in_ledger",
        "{verdict}"
    );
    assert_eq!(verdict["breach"]["request"], request, "{verdict}");
    let claimed: i64 = c
        .query_one(
            "SELECT id FROM retention.action_protocol WHERE action = 'restore_detected'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        verdict["restore_rows_not_in_ledger"],
        serde_json::json!([claimed]),
        "{verdict}"
    );
    // the true request, its guest and its seal, replayed by hand, is held
    // by the ledger: nothing else is caught (the guest is anonymized once)
    common::assert_anonymized(&c, erased).await;
}

#[tokio::test]
async fn hand_written_protocol_rows_stop_no_reader() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let (_, guest) = world(&c).await;
    set_period(&db, "4 years");
    // the owner writes rows as no function of ours would
    c.batch_execute(
        r#"INSERT INTO retention.action_protocol (actor, action, details) VALUES
             ('owner', 'erasure_approved', '{"request_id": "99999999999999999999"}'),
             ('owner', 'erasure_approved', '{"request_id": 1.5}'),
             ('owner', 'erasure_replayed', '{"request_id": "abc", "seal_pos": [1]}'),
             ('owner', 'restore_detected',
              '{"missing_from": "x", "missing_to": 1e30, "last_seen": "-infinity"}'),
             ('owner', 'restore_detected',
              '{"missing_from": 1, "missing_to": 2, "last_seen": "now"}')"#,
    )
    .await
    .unwrap();
    // a request approved by hand: no second login decided it
    c.execute(
        "INSERT INTO retention.erasure_requests (guest_id, branch_id, reason, requested_by,
             requested_at, status, decided_by, decided_at)
         VALUES ($1, 1, 'by hand', 'alice', now(), 'approved', 'bob', now())",
        &[&guest],
    )
    .await
    .unwrap();
    let by_hand: i64 = c
        .query_one("SELECT max(id) FROM retention.erasure_requests", &[])
        .await
        .unwrap()
        .get(0);
    c.execute(
        "INSERT INTO retention.action_protocol (actor, action, guest_id, details)
         VALUES ('owner', 'erasure_approved', $1, jsonb_build_object('request_id', $2::bigint,
                 'requested_login', 'alice', 'approved_login', 'bob'))",
        &[&guest, &by_hand],
    )
    .await
    .unwrap();
    // a time no reader can decode, and an approval with a claimed restore
    // for a guest nobody asked about
    c.execute(
        "INSERT INTO retention.action_protocol (at, actor, action, guest_id, details)
         VALUES ('290000-01-01', 'owner', 'erasure_approved', $1, '{\"request_id\": 77}')",
        &[&guest],
    )
    .await
    .unwrap();
    c.execute(
        "INSERT INTO retention.action_protocol (actor, action, guest_id, details)
         VALUES ('owner', 'erasure_approved', $1, '{\"request_id\": 4242}'),
                ('owner', 'restore_detected', NULL,
                 '{\"missing_from\": 1, \"missing_to\": 100,
                   \"last_seen\": \"2030-01-01T00:00:00+00:00\"}')",
        &[&guest],
    )
    .await
    .unwrap();
    let forged: i64 = c
        .query_one(
            "SELECT id FROM retention.action_protocol WHERE action = 'erasure_replayed'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    // the ledger goes on: the next command records the newest seal
    set_period(&db, "5 years");
    let head: i64 = c
        .query_one("SELECT pos FROM retention.protocol_seal_head", &[])
        .await
        .unwrap()
        .get(0);
    let newest = lines(&db.ledger)
        .iter()
        .filter(|l| l["kind"] == "seal")
        .filter_map(|l| l["pos"].as_i64())
        .max();
    assert_eq!(newest, Some(head));
    assert!(
        !lines(&db.ledger).iter().any(|l| l["kind"] == "erasure"),
        "no approval is read from rows that name no request"
    );
    // status answers, and names the newest restore row (the owner's) without
    // the time that is not credible (years after the row)
    let out = db.cli(&["status", "--format", "json"]);
    let code = out.status.code();
    assert!(matches!(code, Some(0) | Some(3)), "{out:?}");
    let status: Value = json(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(status["restore"]["missing_from"], 1, "{status}");
    assert_eq!(status["restore"]["last_seen"], Value::Null, "{status}");
    // replay finds nothing to do: the ledger recorded no restore and took
    // no approval the database does not hold as a request
    let done = json(&expect_code(&db.cli(&["replay", "--format", "json"]), 0));
    assert_eq!(done["erasures"], serde_json::json!([]), "{done}");
    common::assert_untouched(&c, guest).await;
    // the listing names the time it cannot read, and does not crash
    let out = db.cli(&["protocol", "--format", "ndjson"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(common::stderr(&out).contains("action_protocol.at"));
    // verify names the row it does not hold
    let (code, verdict, err) = verify(&db, &[]);
    assert_eq!(code, 3, "{verdict}\n{err}");
    assert_eq!(verdict["breach"]["row_id"], forged, "{verdict}");
}

#[tokio::test]
async fn a_ledger_whose_seals_the_database_lacks_needs_the_operator() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let (_, erased) = world(&c).await;
    let dir = tempfile::tempdir().unwrap();
    let backup = dir.path().join("early.dump");
    // a dump from before anything was sealed: restored, it holds none of
    // the ledger's seals, as another database's would not
    let sealed = count(&c, "SELECT count(*) FROM retention.protocol_seals").await;
    assert_eq!(sealed, 0, "nothing sealed before the dump");
    dump(&db, &backup);
    set_period(&db, "4 years");
    let request = approved_erasure(&db, erased).await;
    let restored = TestDb::empty().await;
    restore(&backup, &restored);
    let r = restored.client().await;
    let ledger = db.ledger.to_str().unwrap();
    // written to before anyone looked: its own first seal, newer than the
    // ledger's newest (another database would look the same)
    set_period(&restored, "6 years");
    let before = std::fs::read(&db.ledger).unwrap();
    let at = [("RETENTIOND__LEDGER__PATH", ledger)];

    let out = restored.cli_env(
        &["serve"],
        &[
            ("RETENTIOND__LEDGER__PATH", ledger),
            ("RETENTIOND__LOG__FORMAT", "json"),
        ],
    );
    expect_code(&out, 2);
    let err = common::stderr(&out);
    assert!(err.contains("holds none of the seals"), "{err}");
    for args in [vec!["replay"], vec!["replay", "--dry-run"]] {
        let out = restored.cli_env(&args, &at);
        expect_code(&out, 2);
        assert!(
            common::stderr(&out).contains("--confirm-restore"),
            "{}",
            common::stderr(&out)
        );
    }
    assert_eq!(
        std::fs::read(&db.ledger).unwrap(),
        before,
        "the ledger as it was"
    );
    common::assert_untouched(&r, erased).await;

    // the operator knows the restore: recorded, and the erasure replayed
    let out = restored.cli_env(
        &[
            "replay",
            "--confirm-restore",
            "--actor",
            "alice",
            "--format",
            "json",
        ],
        &at,
    );
    let done = json(&expect_code(&out, 0));
    assert_eq!(done["erasures"][0]["request"], request, "{done}");
    assert_eq!(done["erasures"][0]["outcome"], "replayed", "{done}");
    common::assert_anonymized(&r, erased).await;
    let from = missing_from(&r).await;
    assert_eq!(from, 1);
    // the seals it lost stay lost: verify says so
    let (code, verdict, err) = verify(&restored, &["--ledger", ledger]);
    assert_eq!(code, 3, "{verdict}\n{err}");
    assert_eq!(verdict["breach"]["problem"], "seals_lost", "{verdict}");
    assert_eq!(verdict["breach"]["from"], 1, "{verdict}");
    // and the daemon starts with it now
    let mut daemon = common::ledger::serve(&restored, &db.ledger);
    common::ledger::a_tick_recorded(&r, &db.ledger).await;
    common::terminate(&mut daemon, std::time::Duration::from_secs(5));
}

#[tokio::test]
async fn an_erasure_sealed_between_two_seals_of_the_ledger_is_replayed_also_when_its_id_came_again()
{
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let (overdue, erased) = world(&c).await;
    set_period(&db, "4 years");
    let base: i64 = c
        .query_one("SELECT pos FROM retention.protocol_seal_head", &[])
        .await
        .unwrap()
        .get(0);
    let dir = tempfile::tempdir().unwrap();
    let backup = dir.path().join("before.dump");
    dump(&db, &backup);
    // the request and the approval by commands that cannot write this
    // ledger; the next command that can records them and the newest seal
    let away = [("RETENTIOND__LEDGER__PATH", "/nonexistent/ledger")];
    let request = approved_erasure_env(&db, erased, &away).await;
    set_period(&db, "5 years");
    let (seal_pos, _) = erasure_line(&db.ledger);
    let seen: Vec<i64> = lines(&db.ledger)
        .iter()
        .filter(|l| l["kind"] == "seal")
        .filter_map(|l| l["pos"].as_i64())
        .collect();
    assert!(!seen.contains(&seal_pos), "{seal_pos} {seen:?}");
    assert!(seen.iter().any(|p| *p > seal_pos), "{seal_pos} {seen:?}");

    let restored = TestDb::empty().await;
    restore(&backup, &restored);
    let r = restored.client().await;
    // before any daemon saw the restore, a new request takes the lost one's id
    let out = restored.cli(&[
        "erasure",
        "request",
        "--guest",
        &overdue.to_string(),
        "--reason",
        "letter",
        "--format",
        "json",
    ]);
    assert_eq!(
        json(&expect_code(&out, 0))["request_id"],
        request,
        "the id again"
    );
    let out = restored.cli_env(
        &["replay", "--format", "json"],
        &[("RETENTIOND__LEDGER__PATH", db.ledger.to_str().unwrap())],
    );
    let done = json(&expect_code(&out, 0));
    assert_eq!(done["erasures"][0]["request"], request, "{done}");
    assert_eq!(done["erasures"][0]["outcome"], "replayed", "{done}");
    common::assert_anonymized(&r, erased).await;
    let from = missing_from(&r).await;
    assert_eq!(
        from,
        base + 1,
        "every seal after the last both agree on is missing"
    );
}

#[tokio::test]
async fn a_guest_that_took_a_lost_guests_id_again_is_not_replayed() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    world(&c).await;
    set_period(&db, "4 years");
    let dir = tempfile::tempdir().unwrap();
    let backup = dir.path().join("before.dump");
    dump(&db, &backup);
    // after the dump: a new guest, and its erasure approved
    let branch = 1;
    let late = common::fx::guest(&c, branch, common::day("2026-11-20")).await;
    let request = approved_erasure(&db, late).await;
    common::assert_anonymized(&c, late).await;

    let restored = TestDb::empty().await;
    restore(&backup, &restored);
    let r = restored.client().await;
    // the POS imports a guest into the restored database, "guest since"
    // long before the approval: it takes the id
    let newcomer = common::fx::guest(&r, branch, common::day("2019-05-01")).await;
    assert_eq!(newcomer, late, "the restore set the id sequence back");
    let out = restored.cli_env(
        &["replay", "--format", "json"],
        &[("RETENTIOND__LEDGER__PATH", db.ledger.to_str().unwrap())],
    );
    let done = json(&expect_code(&out, 0));
    assert_eq!(done["erasures"][0]["request"], request, "{done}");
    assert_eq!(done["erasures"][0]["outcome"], "replaced", "{done}");
    common::assert_untouched(&r, newcomer).await;
}
