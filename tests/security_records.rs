//! What our records keep: a database error is recorded without the row it
//! quotes (in `runs.error`, the protocol, the mail and the output), and an
//! erasure request's free text is blanked once it is decided.

mod common;

use common::security::guest;
use common::{expect_code, fx, stderr, stdout, TestDb};

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
