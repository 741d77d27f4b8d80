//! Mails that cannot go out as they are: a queued mail whose recipient no
//! longer parses is given up and blocks nothing behind it; the log transport
//! masks recipients.

mod common;

use common::{expect_code, fx, stderr, stdout, TestDb};

#[tokio::test]
async fn a_mail_whose_recipient_no_longer_parses_is_failed_and_blocks_nothing() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    for (recipient, id) in [
        ("not an address", "<bad@x>"),
        ("manager@example.org", "<good@x>"),
    ] {
        c.execute(
            "INSERT INTO retention.mail_outbox (kind, locale, recipients, message_id, subject,
                                                body_text, body_html, created_at, next_attempt_at)
             VALUES ('test', 'de', ARRAY[$1], $2, 's', 't', 'h', now(), now())",
            &[&recipient, &id],
        )
        .await
        .unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let out = db.cli_env(
        &["outbox", "flush"],
        &[
            ("RETENTIOND__MAIL__TRANSPORT", "file"),
            ("RETENTIOND__MAIL__FILE_DIR", dir.path().to_str().unwrap()),
        ],
    );
    expect_code(&out, 1);
    assert!(stdout(&out).contains("delivered: 1"), "{}", stdout(&out));
    let states: Vec<(String, bool, bool)> = c
        .query(
            "SELECT message_id, sent_at IS NOT NULL, failed_at IS NOT NULL
             FROM retention.mail_outbox ORDER BY id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(
        states,
        [
            ("<bad@x>".to_string(), false, true),
            ("<good@x>".to_string(), true, false)
        ]
    );
    assert_eq!(
        fx::count(
            &c,
            "SELECT count(*) FROM retention.action_protocol WHERE action = 'mail_failed'"
        )
        .await,
        1
    );
    // the file transport leaves complete files only
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
    assert!(names[0].ends_with(".eml"), "{names:?}");
}

#[tokio::test]
async fn the_log_transport_masks_recipients_in_the_logged_mail() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    c.execute(
        "INSERT INTO retention.mail_outbox (kind, locale, recipients, message_id, subject,
                                            body_text, body_html, created_at, next_attempt_at)
         VALUES ('test', 'de', ARRAY['manager@example.org'], '<m@x>', 's', 't', 'h', now(), now())",
        &[],
    )
    .await
    .unwrap();
    let out = db.cli_env(
        &["outbox", "flush"],
        &[("RETENTIOND__MAIL__TRANSPORT", "log")],
    );
    expect_code(&out, 0);
    let log = stderr(&out);
    assert!(log.contains("m***@example.org"), "{log}");
    assert!(!log.contains("manager@example.org"), "{log}");
}
