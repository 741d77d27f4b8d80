//! After a restore, the erasure request the backup holds as open (asked
//! before the backup, approved after it) is decided again by the replay, as
//! it was: no reminder of a request that was carried out, and no later
//! approval or rejection of it.

mod common;

use common::ledger::{dump, json, restore, set_period, world};
use common::{expect_code, TestDb};

#[tokio::test]
async fn a_request_asked_before_the_backup_is_closed_by_its_replay() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let (_, erased) = world(&c).await;
    set_period(&db, "4 years");
    let out = db.cli(&[
        "erasure",
        "request",
        "--guest",
        &erased.to_string(),
        "--reason",
        "letter",
        "--format",
        "json",
    ]);
    let request = json(&expect_code(&out, 0))["request_id"].as_i64().unwrap();
    // the reviewer's login exists and is granted before the backup
    let reviewer = db.login("reviewer").await;
    let dir = tempfile::tempdir().unwrap();
    let backup = dir.path().join("asked.dump");
    dump(&db, &backup);
    expect_code(
        &db.cli_as(
            &reviewer,
            &["erasure", "approve", "--request", &request.to_string()],
        ),
        0,
    );

    let restored = TestDb::empty().await;
    restore(&backup, &restored);
    let r = restored.client().await;
    let open: String = r
        .query_one(
            "SELECT status FROM retention.erasure_requests WHERE id = $1",
            &[&request],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(open, "open", "the backup holds the request as asked");
    // the replay by the reviewer's login (not the one that asked)
    let ledger = db.ledger.to_str().unwrap();
    let reviewer = restored
        .url
        .replace("user=postgres", &format!("user={}_reviewer", db.name));
    let out = restored.cli_env(
        &["replay", "--format", "json"],
        &[
            ("RETENTIOND__LEDGER__PATH", ledger),
            ("RETENTIOND__DATABASE__URL", reviewer.as_str()),
        ],
    );
    let done = json(&expect_code(&out, 0));
    assert_eq!(done["erasures"][0]["outcome"], "replayed", "{done}");
    common::assert_anonymized(&r, erased).await;
    let row = r
        .query_one(
            "SELECT status, reason IS NULL, decided_login FROM retention.erasure_requests
             WHERE id = $1",
            &[&request],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "approved");
    assert!(
        row.get::<_, bool>(1),
        "the reason is blanked as a decision does"
    );
    assert!(row.get::<_, String>(2).ends_with("_reviewer"));
    let closed: bool = r
        .query_one(
            "SELECT (details ->> 'request_closed')::boolean FROM retention.action_protocol
             WHERE action = 'erasure_replayed'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(closed);
    // nothing is left to decide
    let out = restored.cli(&[
        "erasure",
        "reject",
        "--request",
        &request.to_string(),
        "--reason",
        "too late",
    ]);
    assert_ne!(
        out.status.code(),
        Some(0),
        "a decided request is not decided again"
    );
}
