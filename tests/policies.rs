//! `policy` and `settings`: configuration with validation, inheritance shown,
//! and every change in the action protocol with actor and old/new values.

mod common;

use common::{expect_code, fx, stderr, TestDb};
use serde_json::Value;

async fn setup() -> (TestDb, tokio_postgres::Client, i64, i64) {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let head = fx::branch(&c, "Zentrale", None).await;
    let branch = fx::branch(&c, "Filiale", Some(head)).await;
    (db, c, head, branch)
}

async fn protocol(
    c: &tokio_postgres::Client,
    action: &str,
) -> Vec<(String, Option<i64>, Option<String>, Value)> {
    c.query(
        "SELECT actor, branch_id, guest_type, details FROM retention.action_protocol
         WHERE action = $1 ORDER BY id",
        &[&action],
    )
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
    .collect()
}

#[tokio::test]
async fn policy_changes_are_protocolled_with_actor_and_old_and_new_value() {
    let (db, c, head, _) = setup().await;
    let set = |period: &str| {
        db.cli(&[
            "policy",
            "set",
            "--branch",
            &head.to_string(),
            "--type",
            "guest",
            "--period",
            period,
            "--actor",
            "alice",
        ])
    };
    expect_code(&set("3 years"), 0);
    expect_code(&set("18 months"), 0);
    expect_code(&set("18 months"), 0); // unchanged: no row
    expect_code(
        &db.cli(&[
            "policy",
            "unset",
            "--branch",
            &head.to_string(),
            "--type",
            "guest",
            "--actor",
            "bob",
        ]),
        0,
    );
    let rows = protocol(&c, "policy_changed").await;
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert_eq!(rows[0].0, "alice");
    assert_eq!(rows[0].1, Some(head));
    assert_eq!(rows[0].2.as_deref(), Some("guest"));
    assert_eq!(
        rows[0].3,
        serde_json::json!({"old": null, "new": "3 years", "login": "postgres"})
    );
    assert_eq!(
        rows[1].3,
        serde_json::json!({"old": "3 years", "new": "1 year 6 mons", "login": "postgres"})
    );
    assert_eq!(rows[2].0, "bob");
    assert_eq!(
        rows[2].3,
        serde_json::json!({"old": "1 year 6 mons", "new": null, "login": "postgres"})
    );
}

#[tokio::test]
async fn actor_defaults_to_the_os_user() {
    let (db, c, head, _) = setup().await;
    expect_code(
        &db.cli(&[
            "policy",
            "set",
            "--branch",
            &head.to_string(),
            "--type",
            "guest",
            "--period",
            "400 days",
        ]),
        0,
    );
    assert_eq!(protocol(&c, "policy_changed").await[0].0, "tester");
}

#[tokio::test]
async fn policy_show_marks_own_inherited_and_not_configured() {
    let (db, c, head, branch) = setup().await;
    fx::policy(&c, head, "guest", "3 years").await;
    fx::policy(&c, head, "regular_guest", "5 years").await;
    fx::policy(&c, branch, "regular_guest", "4 years").await;
    let out = db.cli(&[
        "policy",
        "show",
        "--branch",
        &branch.to_string(),
        "--format",
        "json",
    ]);
    let v: Value = serde_json::from_str(&expect_code(&out, 0)).unwrap();
    let find = |t: &str| {
        v.as_array()
            .unwrap()
            .iter()
            .find(|p| p["guest_type"] == t)
            .unwrap()
            .clone()
    };
    assert_eq!(find("guest")["source"], "inherited");
    assert_eq!(find("guest")["period"], "3 years");
    assert_eq!(find("guest")["source_branch_id"], head);
    assert_eq!(find("regular_guest")["source"], "own");
    assert_eq!(find("regular_guest")["period"], "4 years");
    assert_eq!(find("company_guest")["source"], "not_configured");
    assert_eq!(find("company_guest")["period"], Value::Null);
    let table = expect_code(
        &db.cli(&["policy", "show", "--branch", &branch.to_string()]),
        0,
    );
    assert!(table.contains("inherited from branch"), "{table}");
    assert!(table.contains("not configured"), "{table}");
}

#[tokio::test]
async fn invalid_policy_input_is_refused_and_nothing_is_saved() {
    let (db, c, head, _) = setup().await;
    let h = head.to_string();
    let cases: &[(&[&str], &str)] = &[
        (
            &["--branch", "999", "--type", "guest", "--period", "3 years"],
            "branch 999 does not exist",
        ),
        (
            &["--branch", &h, "--type", "vip", "--period", "3 years"],
            "invalid value 'vip' for '--type <TYPE>'",
        ),
        (
            &["--branch", &h, "--type", "guest", "--period", "soon"],
            "not a valid PostgreSQL interval",
        ),
        (
            &["--branch", &h, "--type", "guest", "--period", "0 days"],
            "zero or negative",
        ),
        (
            &["--branch", &h, "--type", "guest", "--period", "-1 year"],
            "zero or negative",
        ),
        (
            &[
                "--branch",
                &h,
                "--type",
                "guest",
                "--period",
                "1 year -400 days",
            ],
            "zero or negative",
        ),
        (
            &[
                "--branch",
                &h,
                "--type",
                "guest",
                "--period",
                "1 year -2 days",
            ],
            "zero or negative",
        ),
        (
            &["--branch", &h, "--type", "guest", "--period", "3"],
            "shorter than one day",
        ),
        (
            &[
                "--branch",
                &h,
                "--type",
                "guest",
                "--period",
                "178000000 years",
            ],
            "longer than 100 years",
        ),
        (
            &[
                "--branch",
                &h,
                "--type",
                "guest",
                "--period",
                "100 years 1 day",
            ],
            "longer than 100 years",
        ),
    ];
    for (args, message) in cases {
        let mut full = vec!["policy", "set"];
        full.extend_from_slice(args);
        let out = db.cli(&full);
        expect_code(&out, 2);
        assert!(stderr(&out).contains(message), "{args:?}: {}", stderr(&out));
    }
    let policies = fx::count(&c, "SELECT count(*) FROM retention.policies").await;
    let rows = fx::count(&c, "SELECT count(*) FROM retention.action_protocol").await;
    assert_eq!((policies, rows), (0, 0));
    // the longest period accepted, and every report still works with it
    let longest = [
        "policy",
        "set",
        "--branch",
        &h,
        "--type",
        "guest",
        "--period",
        "100 years",
    ];
    expect_code(&db.cli(&longest), 0);
    expect_code(&db.cli(&["pending"]), 0);
}

#[tokio::test]
async fn unset_of_an_unknown_branch_is_refused() {
    let (db, _c, _, _) = setup().await;
    let out = db.cli(&["policy", "unset", "--branch", "999", "--type", "guest"]);
    expect_code(&out, 2);
    assert!(stderr(&out).contains("branch 999 does not exist"));
}

#[tokio::test]
async fn automatic_deletion_is_off_until_switched_on() {
    let (db, c, head, _) = setup().await;
    let out = db.cli(&[
        "settings",
        "show",
        "--branch",
        &head.to_string(),
        "--format",
        "json",
    ]);
    let v: Value = serde_json::from_str(&expect_code(&out, 0)).unwrap();
    assert_eq!(v[0]["auto_delete"], false);
    expect_code(
        &db.cli(&[
            "settings",
            "set",
            "--branch",
            &head.to_string(),
            "--auto-delete",
            "on",
            "--actor",
            "carol",
        ]),
        0,
    );
    let on: bool = c
        .query_one(
            "SELECT auto_delete FROM retention.branch_settings WHERE branch_id = $1",
            &[&head],
        )
        .await
        .unwrap()
        .get(0);
    assert!(on);
    let rows = protocol(&c, "settings_changed").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].0, "carol");
    assert_eq!(
        rows[0].3,
        serde_json::json!({"auto_delete": {"old": false, "new": true}, "login": "postgres"})
    );
}

#[tokio::test]
async fn notification_addresses_are_saved_and_protocolled_masked() {
    let (db, c, head, _) = setup().await;
    let out = db.cli(&[
        "settings",
        "set",
        "--branch",
        &head.to_string(),
        "--notify",
        "manager@example.com, Owner <owner@example.org>",
        "--notify-pending",
        "off",
    ]);
    expect_code(&out, 0);
    let addresses: Vec<String> = c
        .query_one(
            "SELECT notify_addresses FROM retention.branch_settings WHERE branch_id = $1",
            &[&head],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(addresses.len(), 2);
    assert_eq!(addresses[0], "manager@example.com");
    let rows = protocol(&c, "settings_changed").await;
    let details = rows[0].3.to_string();
    assert!(details.contains("m***@example.com"), "{details}");
    assert!(!details.contains("manager@"), "{details}");
    assert!(details.contains("notify_pending"), "{details}");
}

#[tokio::test]
async fn bad_address_is_rejected_with_its_position_and_nothing_is_saved() {
    let (db, c, head, _) = setup().await;
    let out = db.cli(&[
        "settings",
        "set",
        "--branch",
        &head.to_string(),
        "--auto-delete",
        "on",
        "--notify",
        "a@example.com,b@,c@example.com",
    ]);
    expect_code(&out, 2);
    assert!(stderr(&out).contains("address 2 of 3"), "{}", stderr(&out));
    assert_eq!(
        fx::count(&c, "SELECT count(*) FROM retention.branch_settings").await,
        0
    );
    assert_eq!(
        fx::count(&c, "SELECT count(*) FROM retention.action_protocol").await,
        0
    );
}

#[tokio::test]
async fn settings_show_warns_about_a_branch_without_addresses() {
    let (db, _c, head, _) = setup().await;
    let out = db.cli(&["settings", "show", "--branch", &head.to_string()]);
    expect_code(&out, 0);
    assert!(
        stderr(&out).contains("no notification addresses"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test]
async fn settings_set_without_a_change_is_bad_usage() {
    let (db, _c, head, _) = setup().await;
    expect_code(
        &db.cli(&["settings", "set", "--branch", &head.to_string()]),
        2,
    );
    expect_code(
        &db.cli(&["settings", "set", "--branch", "999", "--auto-delete", "on"]),
        2,
    );
    expect_code(
        &db.cli(&[
            "settings",
            "set",
            "--branch",
            &head.to_string(),
            "--locale",
            "fr",
        ]),
        2,
    );
}
