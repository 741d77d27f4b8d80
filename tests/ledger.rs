//! The ledger outside the database: a dump restored after a run and an
//! approved erasure is found and the erasure replayed exactly once; a
//! protocol rewound by the owner fails `protocol verify` without `--seal`;
//! an edited or shortened ledger is named by its line; a ledger of another
//! database is refused; two daemons with ledgers of their own both verify;
//! a replay no restore lost is refused, and a claimed one caught.

mod common;

use std::time::Duration;

use common::faults::wait_until;
use common::ledger::{
    a_tick_recorded, approved_erasure, count, dump, json, lines, restore, seal_lines, serve,
    set_period, verify, world,
};
use common::{expect_code, terminate, TestDb};
use serde_json::Value;

#[tokio::test]
async fn a_restored_dump_is_found_and_its_lost_erasure_replayed_exactly_once() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let (overdue, erased) = world(&c).await;
    // every command records into the ledger: it holds the first seal
    set_period(&db, "4 years");
    assert_eq!(seal_lines(&db.ledger), 1);
    let dir = tempfile::tempdir().unwrap();
    let backup = dir.path().join("before.dump");
    dump(&db, &backup);
    // after the dump: a run takes the overdue guest, an erasure the other
    expect_code(&db.cli(&["run", "--yes"]), 0);
    let request = approved_erasure(&db, erased).await;
    common::assert_anonymized(&c, overdue).await;
    common::assert_anonymized(&c, erased).await;
    let ledger = lines(&db.ledger);
    let recorded = ledger
        .iter()
        .find(|l| l["kind"] == "erasure")
        .unwrap_or_else(|| panic!("the approval is in the ledger: {ledger:?}"));
    assert_eq!(recorded["request"], request);
    assert_eq!(recorded["guest"], erased);
    assert!(recorded["approved_login"]
        .as_str()
        .unwrap()
        .ends_with("_reviewer"));
    let text = std::fs::read_to_string(&db.ledger).unwrap();
    assert!(!text.contains("mail of 20.11."), "no reason in the ledger");

    // the restore: the dump taken before, into a new database
    let restored = TestDb::empty().await;
    restore(&backup, &restored);
    let r = restored.client().await;
    common::assert_untouched(&r, erased).await;
    // status, before any daemon saw it: behind the ledger
    let out = restored.cli_env(
        &["status"],
        &[("RETENTIOND__LEDGER__PATH", db.ledger.to_str().unwrap())],
    );
    let said = expect_code(&out, 3);
    assert!(
        said.contains("the database is behind the ledger: seals"),
        "{said}"
    );

    // what a replay would do, before anything is done
    let out = restored.cli_env(
        &["replay", "--dry-run", "--format", "json"],
        &[("RETENTIOND__LEDGER__PATH", db.ledger.to_str().unwrap())],
    );
    let planned = json(&expect_code(&out, 0));
    assert_eq!(planned["erasures"][0]["request"], request, "{planned}");
    assert_eq!(
        planned["erasures"][0]["outcome"], "would_replay",
        "{planned}"
    );
    common::assert_untouched(&r, erased).await;

    let mut daemon = serve(&restored, &db.ledger);
    wait_until(
        "the erasure replayed",
        Duration::from_secs(60),
        async || {
            count(
                &r,
                "SELECT count(*) FROM retention.action_protocol WHERE action = 'erasure_replayed'",
            )
            .await
                > 0
        },
    )
    .await;
    a_tick_recorded(&r, &db.ledger).await;
    terminate(&mut daemon, Duration::from_secs(5));
    // started twice: still once
    let mut again = serve(&restored, &db.ledger);
    a_tick_recorded(&r, &db.ledger).await;
    terminate(&mut again, Duration::from_secs(5));
    expect_code(
        &restored.cli_env(
            &["replay"],
            &[("RETENTIOND__LEDGER__PATH", db.ledger.to_str().unwrap())],
        ),
        0,
    );

    common::assert_anonymized(&r, erased).await;
    let replayed = r
        .query(
            "SELECT guest_id, details FROM retention.action_protocol
             WHERE action = 'erasure_replayed'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(replayed.len(), 1, "replayed exactly once");
    let details: Value = replayed[0].get(1);
    assert_eq!(replayed[0].get::<_, i64>(0), erased);
    assert_eq!(details["request_id"], request);
    assert_eq!(details["seal"], recorded["seal_hash"]);
    assert_eq!(
        count(
            &r,
            "SELECT count(*) FROM retention.action_protocol WHERE action = 'restore_detected'"
        )
        .await,
        1,
        "the restore is recorded once"
    );
    // the overdue guest the restore brought back waits for the next run
    common::assert_untouched(&r, overdue).await;
    let out = restored.cli_env(
        &["status", "--format", "json"],
        &[("RETENTIOND__LEDGER__PATH", db.ledger.to_str().unwrap())],
    );
    let status = json(&expect_code(&out, 3));
    assert_eq!(status["restore"]["overdue_brought_back"], 1, "{status}");
    // and so does the branch's pending summary
    let mails = common::mail::pending_mails_of(&restored, &restored.url, 1);
    assert!(
        mails
            .iter()
            .any(|m| m.text.contains("brought back 1 guest(s)")),
        "{:?}",
        mails.iter().map(|m| &m.text).collect::<Vec<_>>()
    );
    // the auditors' yearly report lists the restore and the replay
    let report = dir.path().join("report.html");
    let year = chrono::Datelike::year(&chrono::Utc::now()).to_string();
    expect_code(
        &restored.cli(&[
            "report",
            "--year",
            &year,
            "--locale",
            "en",
            "--out",
            report.to_str().unwrap(),
        ]),
        0,
    );
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(html.contains("restore found</span>, lost: seals"), "{html}");
    assert!(
        html.contains(&format!(
            "erasure applied again: request {request} approved"
        )),
        "{html}"
    );
    // against the ledger, the protocol lost the seals the restore took:
    // verify says so, with the restore, and holds the replay
    let (code, verdict, err) = verify(&restored, &["--ledger", db.ledger.to_str().unwrap()]);
    assert_eq!(code, 3, "{verdict}\n{err}");
    assert_eq!(verdict["breach"]["problem"], "seals_lost", "{verdict}");
    assert!(err.contains("the protocol lost seals"), "{err}");
    assert_eq!(
        verdict["restores"].as_array().map(Vec::len),
        Some(1),
        "{verdict}"
    );
    assert_eq!(verdict["restore_rows_not_in_ledger"], serde_json::json!([]));
    assert!(verdict["ledger_seals"].as_u64().unwrap() >= 1, "{verdict}");
}

#[tokio::test]
async fn a_protocol_rewound_by_the_owner_fails_verify_without_a_seal() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    world(&c).await;
    set_period(&db, "4 years");
    let keep: i64 = c
        .query_one("SELECT max(pos) FROM retention.protocol_seals", &[])
        .await
        .unwrap()
        .get(0);
    let when = chrono::Utc::now();
    for period in ["5 years", "6 years"] {
        set_period(&db, period);
    }
    let (code, _, err) = verify(&db, &[]);
    assert_eq!(code, 0, "{err}");
    // the owner removes the newest rows and seals and sets the head back
    common::seals::tamper(
        &c,
        &format!(
            "DELETE FROM retention.action_protocol p WHERE p.id > (SELECT max(i) FROM
                 retention.protocol_seals s, unnest(s.row_ids) i WHERE s.pos <= {keep});
             DELETE FROM retention.protocol_seals WHERE pos > {keep};
             UPDATE retention.protocol_seal_head SET pos = {keep},
                 seal = (SELECT seal FROM retention.protocol_seals WHERE pos = {keep})"
        ),
    )
    .await;
    let (code, verdict, err) = verify(&db, &[]);
    assert_eq!(code, 3, "{verdict}\n{err}");
    assert_eq!(
        verdict["breach"]["problem"], "ledger_seal_missing",
        "{verdict}"
    );
    let first_missing = verdict["breach"]["seal"].as_i64().unwrap();
    assert!(first_missing > keep, "{verdict}");
    assert!(
        err.contains("the protocol was rewound or rewritten after")
            && err.contains(&format!("seal {first_missing}"))
            && err.contains(&when.format("%Y-%m-%d").to_string()),
        "{err}"
    );
    // a rewind looks like a restore: the daemon's step (here `replay`)
    // records it, and the ledger goes on; the lost seals stay a finding
    expect_code(&db.cli(&["replay"]), 0);
    let recorded = count(
        &c,
        "SELECT count(*) FROM retention.action_protocol WHERE action = 'restore_detected'",
    )
    .await;
    assert_eq!(recorded, 1);
    let (code, verdict, err) = verify(&db, &[]);
    assert_eq!(code, 3, "{verdict}\n{err}");
    assert_eq!(verdict["breach"]["problem"], "seals_lost", "{verdict}");
    assert_eq!(verdict["breach"]["from"], keep + 1, "{verdict}");
    assert!(
        err.contains(&format!("the protocol lost seals {}–", keep + 1)),
        "{err}"
    );
}

#[tokio::test]
async fn an_edited_or_shortened_ledger_is_named_by_its_line() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    world(&c).await;
    for period in ["4 years", "5 years", "6 years"] {
        set_period(&db, period);
    }
    let text = std::fs::read_to_string(&db.ledger).unwrap();
    let original: Vec<&str> = text.lines().collect();
    assert!(original.len() >= 3, "{text}");
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("ledger");

    let mut edited = original.clone();
    let changed = edited[1].replacen("\"row_id\":", "\"row_id\":1", 1);
    edited[1] = &changed;
    std::fs::write(&copy, edited.join("\n") + "\n").unwrap();
    let (code, _, err) = verify(&db, &["--ledger", copy.to_str().unwrap()]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("is broken at line 2"), "{err}");

    let mut shortened = original.clone();
    shortened.remove(1);
    std::fs::write(&copy, shortened.join("\n") + "\n").unwrap();
    let (code, _, err) = verify(&db, &["--ledger", copy.to_str().unwrap()]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("is broken at line 2"), "{err}");

    // the daemon does not take it either: its ticks say so, nothing is appended
    std::fs::copy(&copy, &db.ledger).unwrap();
    let out = expect_code(&db.cli(&["status"]), 3);
    assert!(out.contains("is broken at line 2"), "{out}");
    // the intact one verifies
    std::fs::write(&copy, text).unwrap();
    let (code, _, err) = verify(&db, &["--ledger", copy.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
}

#[tokio::test]
async fn a_ledger_of_another_database_is_refused() {
    let ours = TestDb::empty().await;
    expect_code(&ours.cli(&["migrate"]), 0);
    let theirs = TestDb::empty().await;
    expect_code(&theirs.cli(&["migrate"]), 0);
    world(&ours.client().await).await;
    world(&theirs.client().await).await;
    // their chain begins before our ledger's newest seal: plainly another
    // database's (one begun after it could be an early dump of ours:
    // tests/ledger_attacks.rs)
    set_period(&theirs, "4 years");
    set_period(&ours, "4 years");
    assert!(seal_lines(&ours.ledger) >= 1 && seal_lines(&theirs.ledger) >= 1);

    let (code, _, err) = verify(&theirs, &["--ledger", ours.ledger.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("belongs to another database"), "{err}");
    // the daemon does not start with it (exit 2), and leaves it as it was
    let before = std::fs::read(&ours.ledger).unwrap();
    let out = theirs.cli_env(
        &["serve"],
        &[
            ("RETENTIOND__LEDGER__PATH", ours.ledger.to_str().unwrap()),
            ("RETENTIOND__LOG__FORMAT", "json"),
        ],
    );
    expect_code(&out, 2);
    let err = common::stderr(&out);
    assert!(err.contains("belongs to another database"), "{err}");
    assert_eq!(std::fs::read(&ours.ledger).unwrap(), before);
}

#[tokio::test]
async fn two_daemons_with_ledgers_of_their_own_both_verify() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let (_, erased) = world(&c).await;
    let dir = tempfile::tempdir().unwrap();
    let (first, second) = (dir.path().join("a"), dir.path().join("b"));
    let mut a = serve(&db, &first);
    let mut b = serve(&db, &second);
    a_tick_recorded(&c, &first).await;
    a_tick_recorded(&c, &second).await;
    approved_erasure(&db, erased).await;
    a_tick_recorded(&c, &first).await;
    a_tick_recorded(&c, &second).await;
    terminate(&mut a, Duration::from_secs(5));
    terminate(&mut b, Duration::from_secs(5));
    for ledger in [&first, &second] {
        let mode = std::fs::metadata(ledger).unwrap();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&mode.permissions()) & 0o777,
            0o600
        );
        assert!(
            lines(ledger).iter().any(|l| l["kind"] == "erasure"),
            "{ledger:?}"
        );
        let (code, verdict, err) = verify(&db, &["--ledger", ledger.to_str().unwrap()]);
        assert_eq!(code, 0, "{verdict}\n{err}");
        assert!(verdict["ledger_seals"].as_u64().unwrap() >= 2, "{verdict}");
    }
}

#[tokio::test]
async fn a_login_replays_no_erasure_that_no_restore_lost_and_a_claimed_one_is_caught() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let (_, guest) = world(&c).await;
    set_period(&db, "4 years");
    let mallory = db.login("mallory").await;
    let m = common::connect(&mallory).await;
    let replay = "SELECT retention_api.erasure_replay($1, $2, 5, 'ab', 'a', 'b',
                                                       now() - interval '1 hour', 'mallory')";
    let e = m.query_one(replay, &[&999i64, &guest]).await.unwrap_err();
    assert_eq!(e.code().map(|c| c.code()), Some("RT003"), "{e}");
    common::assert_untouched(&c, guest).await;
    // a restore claimed by the login lets its replay through: both rows name
    // it, and verify against the ledger reports the replay it does not hold
    m.execute(
        "SELECT retention_api.restore_detected(1, 1000, now(), 'mallory')",
        &[],
    )
    .await
    .unwrap();
    let outcome: String = m
        .query_one(replay, &[&999i64, &guest])
        .await
        .unwrap()
        .get(0);
    assert_eq!(outcome, "replayed");
    let logins = c
        .query(
            "SELECT details ->> 'login' FROM retention.action_protocol
             WHERE action IN ('restore_detected', 'erasure_replayed')",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(logins.len(), 2);
    assert!(logins
        .iter()
        .all(|r| r.get::<_, String>(0) == mallory_role(&db)));
    let (code, verdict, err) = verify(&db, &[]);
    assert_eq!(code, 3, "{verdict}\n{err}");
    assert_eq!(
        verdict["breach"]["problem"], "replay_not_in_ledger",
        "{verdict}"
    );
    assert!(err.contains("that the ledger does not hold"), "{err}");
}

fn mallory_role(db: &TestDb) -> String {
    format!("{}_mallory", db.name)
}

#[tokio::test]
async fn status_says_when_the_ledger_lags_the_protocol() {
    use retentiond::retention::health::{self, Attention};
    let db = TestDb::migrated().await;
    let c = db.client().await;
    world(&c).await;
    set_period(&db, "4 years");
    let later = chrono::Utc::now() + chrono::Duration::hours(1);
    let settings = || {
        let mut s = common::settings(&db, "");
        s.ledger.path = db.ledger.clone();
        s
    };
    let lags = |h: &health::Health| {
        h.attention
            .iter()
            .any(|a| matches!(a, Attention::LedgerLags(..)))
    };
    // an hour later, nothing new sealed: the ledger is up to date
    let cx = common::context(settings(), later);
    let h = health::gather(&cx).await.unwrap();
    assert!(!lags(&h), "{:?}", h.attention);
    // a seal no process recorded (no daemon ran): an hour later, it lags
    c.execute(
        "INSERT INTO retention.action_protocol (actor, action) VALUES ('test', 'settings_changed')",
        &[],
    )
    .await
    .unwrap();
    let head: i64 = c
        .query_one("SELECT pos FROM retention.protocol_seal_head", &[])
        .await
        .unwrap()
        .get(0);
    // a newer seal does not hide it: the oldest seal waiting is named
    c.execute(
        "INSERT INTO retention.action_protocol (actor, action) VALUES ('test', 'settings_changed')",
        &[],
    )
    .await
    .unwrap();
    let h = health::gather(&cx).await.unwrap();
    assert!(
        h.attention
            .iter()
            .any(|a| matches!(a, Attention::LedgerLags(pos, _) if *pos == head)),
        "{:?}",
        h.attention
    );
    // now, it has only just been sealed: the daemon's next tick records it
    let cx = common::context(settings(), chrono::Utc::now());
    assert!(!lags(&health::gather(&cx).await.unwrap()));
}
