//! Legal holds: a held guest (or every guest of a held branch) is kept
//! through runs and approved erasures, shows as blocked by `legal_hold`,
//! and follows the normal rules again from the first run after the release;
//! placing and releasing are protocol rows with the login; a hold past its
//! date needs attention. Done as granted logins.

mod common;

use common::security::guest;
use common::{assert_anonymized, assert_untouched, day, expect_code, fx, stdout, TestDb};

fn json(out: &str) -> serde_json::Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

fn place(db: &TestDb, url: &str, target: &[&str], until: Option<&str>) -> i64 {
    let mut args = vec!["hold", "add"];
    args.extend_from_slice(target);
    args.extend_from_slice(&["--reason", "tax audit 2026/17", "--format", "json"]);
    if let Some(d) = until {
        args.extend_from_slice(&["--until", d]);
    }
    let doc = json(&expect_code(&db.cli_as(url, &args), 0));
    doc["hold_id"].as_i64().expect("a hold id")
}

#[tokio::test]
async fn a_held_guest_is_kept_through_a_run_and_an_approval_and_taken_after_release() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let (b, g) = guest(&c).await;
    let (alice, bob) = (db.login("alice").await, db.login("bob").await);
    let hold = place(&db, &alice, &["--guest", &g.to_string()], None);

    // classify and pending say why it waits
    let classified = json(&expect_code(
        &db.cli_as(
            &bob,
            &["classify", "--guest", &g.to_string(), "--format", "json"],
        ),
        0,
    ));
    assert_eq!(classified["blocked_reason"], "legal_hold", "{classified}");
    let pending = expect_code(&db.cli_as(&bob, &["pending", "--format", "json"]), 0);
    assert!(pending.contains("legal_hold"), "{pending}");

    // a run keeps it
    expect_code(&db.cli_as(&bob, &["run", "--yes"]), 0);
    assert_untouched(&c, g).await;
    // and an approved erasure is refused, naming the hold
    let out = expect_code(
        &db.cli_as(
            &alice,
            &[
                "erasure",
                "request",
                "--guest",
                &g.to_string(),
                "--reason",
                "mail",
                "--format",
                "json",
            ],
        ),
        0,
    );
    let request = json(&out)["request_id"].as_i64().unwrap();
    let refused = db.cli_as(
        &bob,
        &["erasure", "approve", "--request", &request.to_string()],
    );
    assert_eq!(refused.status.code(), Some(1));
    let text = common::stderr(&refused);
    assert!(text.contains(&format!("legal hold {hold}")), "{text}");
    assert_untouched(&c, g).await;
    // plain SQL cannot lift it either
    let as_bob = common::connect(&bob).await;
    let e = as_bob
        .batch_execute(&format!(
            "UPDATE retention.legal_holds SET released_at = now() WHERE id = {hold}"
        ))
        .await
        .expect_err("no login writes holds");
    assert_eq!(e.code().map(|c| c.code()), Some("42501"));

    // released: the next run takes the guest
    expect_code(
        &db.cli_as(&bob, &["hold", "release", "--hold", &hold.to_string()]),
        0,
    );
    expect_code(&db.cli_as(&bob, &["run", "--yes"]), 0);
    assert_anonymized(&c, g).await;

    // the protocol tells who placed and released it, without the reason
    let rows = c
        .query(
            "SELECT action, branch_id, guest_id, details FROM retention.action_protocol
             WHERE action IN ('hold_placed', 'hold_released') ORDER BY id",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    for (row, (action, login)) in rows
        .iter()
        .zip([("hold_placed", "alice"), ("hold_released", "bob")])
    {
        assert_eq!(row.get::<_, String>(0), action);
        assert_eq!(row.get::<_, Option<i64>>(1), Some(b));
        assert_eq!(row.get::<_, Option<i64>>(2), Some(g));
        let details: serde_json::Value = row.get(3);
        assert_eq!(details["hold_id"], hold);
        assert!(
            details["login"].as_str().unwrap().ends_with(login),
            "{details}"
        );
        assert!(!details.to_string().contains("tax audit"), "{details}");
    }
    let list = json(&expect_code(
        &db.cli_as(&alice, &["hold", "list", "--all", "--format", "json"]),
        0,
    ));
    assert!(
        list[0]["released_login"]
            .as_str()
            .unwrap()
            .ends_with("_bob"),
        "{list}"
    );
}

#[tokio::test]
async fn a_held_branch_keeps_every_guest_and_its_fiscal_data() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let b = fx::branch(&c, "Bonn", None).await;
    fx::policy(&c, b, "guest", "1 year").await;
    fx::policy(&c, b, "company_guest", "2 years").await;
    let plain = fx::guest(&c, b, day("2019-01-01")).await;
    fx::sale(&c, plain, day("2019-01-01")).await;
    let company = fx::guest(&c, b, day("2019-01-01")).await;
    fx::sale(&c, company, day("2019-01-01")).await;
    fx::set_company(&c, company, "ACME GmbH").await;
    let admin = db.login("admin").await;
    let hold = place(
        &db,
        &admin,
        &["--branch", &b.to_string()],
        Some("2099-12-31"),
    );
    expect_code(&db.cli_as(&admin, &["run", "--yes"]), 0);
    assert_untouched(&c, plain).await;
    assert_untouched(&c, company).await;
    expect_code(
        &db.cli_as(&admin, &["hold", "release", "--hold", &hold.to_string()]),
        0,
    );
    expect_code(&db.cli_as(&admin, &["run", "--yes"]), 0);
    assert_anonymized(&c, plain).await;
    let erased = fx::count(
        &c,
        &format!("SELECT count(*) FROM guests WHERE id = {company} AND fiscal_erased_at IS NOT NULL AND company IS NULL"),
    )
    .await;
    assert_eq!(erased, 1, "fiscal data goes too once released");
    // released twice, or a hold that does not exist: bad usage
    let again = db.cli_as(&admin, &["hold", "release", "--hold", &hold.to_string()]);
    assert_eq!(again.status.code(), Some(2));
    assert_eq!(
        db.cli_as(&admin, &["hold", "release", "--hold", "999"])
            .status
            .code(),
        Some(2)
    );
}

#[tokio::test]
async fn a_hold_past_its_date_needs_attention_until_released() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let (_, g) = guest(&c).await;
    let admin = db.login("admin").await;
    let hold = place(
        &db,
        &admin,
        &["--guest", &g.to_string()],
        Some("2099-01-01"),
    );
    assert_eq!(db.cli_as(&admin, &["status"]).status.code(), Some(0));
    // its date passes (the owner moves it back, as time would)
    c.batch_execute(&format!(
        "SET ROLE retentiond_owner; UPDATE retention.legal_holds SET until = '2020-01-01' WHERE id = {hold}; RESET ROLE;"
    ))
    .await
    .unwrap();
    let out = db.cli_as(&admin, &["status", "--format", "json"]);
    assert_eq!(out.status.code(), Some(3), "{}", stdout(&out));
    let doc = json(&stdout(&out));
    assert_eq!(doc["expired_holds"][0]["id"], hold, "{doc}");
    assert!(
        doc.to_string()
            .contains(&format!("legal hold {hold} is past its date")),
        "{doc}"
    );
    // and the pending mail says so, without the case
    let b = fx::count(&c, &format!("SELECT branch_id FROM guests WHERE id = {g}")).await;
    let mails = common::mail::pending_mails_of(&db, &admin, b);
    assert_eq!(mails.len(), 1);
    let needle = format!("Legal hold {hold} is past its date");
    assert!(mails[0].text.contains(&needle), "{}", mails[0].text);
    assert!(
        mails[0]
            .html
            .contains(&format!("legal hold {hold} is past its date")),
        "{}",
        mails[0].html
    );
    assert!(!mails[0].raw.contains("tax audit"));
    // a date in the past is refused when placing
    let past = db.cli_as(
        &admin,
        &[
            "hold",
            "add",
            "--guest",
            &g.to_string(),
            "--reason",
            "x",
            "--until",
            "2020-01-01",
        ],
    );
    assert_eq!(past.status.code(), Some(2));
    expect_code(
        &db.cli_as(&admin, &["hold", "release", "--hold", &hold.to_string()]),
        0,
    );
    assert_eq!(db.cli_as(&admin, &["status"]).status.code(), Some(0));
}
