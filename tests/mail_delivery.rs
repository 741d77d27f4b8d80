//! Delivery through the outbox: with the server down a mail stays queued
//! and arrives exactly once when it is back, it is given up visibly after
//! the last attempt, a branch without addresses gets nothing and is warned
//! about, `mail-test` reports the server's answer, and the SMTP password
//! reaches a server without TLS only where the settings allow it.

mod common;

use common::mail::{addresses, cli, overdue_guests, received, world};
use common::{expect_code, fx, stderr, stdout, SmtpSink};

#[tokio::test]
async fn with_the_server_down_the_mail_stays_queued_and_arrives_exactly_once() {
    let (db, c, b) = world().await;
    overdue_guests(&c, b, 2, false).await;
    addresses(&c, b, &["chef@example.org"], None).await;
    let mut sink = SmtpSink::down();

    let out = cli(&db, &sink, &["run", "--yes"], &[]);
    expect_code(&out, 0);
    assert!(
        stderr(&out).contains("queued for the daemon"),
        "{}",
        stderr(&out)
    );
    let r = c
        .query_one(
            "SELECT attempts, last_error IS NOT NULL, sent_at IS NULL FROM retention.mail_outbox",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(r.get::<_, i32>(0), 1);
    assert!(r.get::<_, bool>(1) && r.get::<_, bool>(2));
    let listed = expect_code(&cli(&db, &sink, &["outbox", "list"], &[]), 0);
    assert!(
        listed.contains("queued") && listed.contains("c***@example.org"),
        "{listed}"
    );
    assert!(
        !listed.contains("chef@example.org"),
        "recipients are masked"
    );
    // still down: flush keeps it queued and says so
    expect_code(&cli(&db, &sink, &["outbox", "flush"], &[]), 1);

    // the server comes back; a new sender process delivers it once
    sink.restart();
    let out = expect_code(&cli(&db, &sink, &["outbox", "flush"], &[]), 0);
    assert!(out.contains("delivered: 1"), "{out}");
    expect_code(&cli(&db, &sink, &["outbox", "flush"], &[]), 0);
    assert_eq!(received(&sink).len(), 1, "exactly once");
    let sent: i64 = fx::count(
        &c,
        "SELECT count(*) FROM retention.mail_outbox WHERE sent_at IS NOT NULL AND attempts = 3",
    )
    .await;
    assert_eq!(sent, 1);
}

#[tokio::test]
async fn a_mail_is_given_up_visibly_after_the_last_attempt() {
    let (db, c, b) = world().await;
    overdue_guests(&c, b, 1, false).await;
    addresses(&c, b, &["chef@example.org"], None).await;
    let sink = SmtpSink::down();
    let limit = [("RETENTIOND__MAIL__MAX_ATTEMPTS", "2")];
    expect_code(&cli(&db, &sink, &["run", "--yes"], &limit), 0);
    let out = cli(&db, &sink, &["outbox", "flush"], &limit);
    expect_code(&out, 1);
    assert!(stderr(&out).contains("mail given up"), "{}", stderr(&out));
    let r = c
        .query_one(
            "SELECT failed_at IS NOT NULL, attempts FROM retention.mail_outbox",
            &[],
        )
        .await
        .unwrap();
    assert!(r.get::<_, bool>(0));
    assert_eq!(r.get::<_, i32>(1), 2);
    let details: serde_json::Value = c
        .query_one(
            "SELECT details FROM retention.action_protocol WHERE action = 'mail_failed'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(details["attempts"], 2);
    assert!(!details.to_string().contains("chef@example.org"));
    let listed = expect_code(&cli(&db, &sink, &["outbox", "list"], &[]), 0);
    assert!(listed.contains("failed"), "{listed}");
}

#[tokio::test]
async fn a_branch_without_addresses_gets_nothing_and_is_warned_about() {
    let (db, c, b) = world().await;
    overdue_guests(&c, b, 1, false).await;
    let sink = SmtpSink::start();
    expect_code(&cli(&db, &sink, &["run", "--yes"], &[]), 0);
    assert_eq!(
        fx::count(&c, "SELECT count(*) FROM retention.mail_outbox").await,
        0
    );
    assert!(received(&sink).is_empty());
    let out = cli(&db, &sink, &["settings", "show"], &[]);
    expect_code(&out, 0);
    assert!(
        stderr(&out).contains("no notification addresses"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test]
async fn mail_test_reports_the_server_answer() {
    let (db, _c, _b) = world().await;
    let sink = SmtpSink::start();
    let out = expect_code(
        &cli(&db, &sink, &["mail-test", "--to", "ops@example.org"], &[]),
        0,
    );
    assert!(out.contains("250"), "{out}");
    let m = &received(&sink)[0];
    assert_eq!(m.envelope_to, ["ops@example.org"]);
    assert_eq!(m.subject, "retentiond: Testnachricht");
    let down = SmtpSink::down();
    let out = cli(&db, &down, &["mail-test", "--to", "ops@example.org"], &[]);
    expect_code(&out, 1);
    assert!(
        stderr(&out).contains("test mail not delivered"),
        "{}",
        stderr(&out)
    );
    expect_code(
        &cli(&db, &sink, &["mail-test", "--to", "not an address"], &[]),
        2,
    );
}

/// The password in the URL, and in a file with STARTTLS only if offered (the
/// sink offers none, as when an attacker on the path removes the offer).
fn password_without_tls(
    sink: &SmtpSink,
    dir: &std::path::Path,
) -> [Vec<(&'static str, String)>; 2] {
    let file = dir.join("smtp-password");
    std::fs::write(&file, "s3cret\n").unwrap();
    [
        vec![(
            "RETENTIOND__MAIL__SMTP_URL",
            format!("smtp://mailer:s3cret@127.0.0.1:{}", sink.port),
        )],
        vec![
            (
                "RETENTIOND__MAIL__SMTP_URL",
                format!("smtp://mailer@127.0.0.1:{}?tls=opportunistic", sink.port),
            ),
            (
                "RETENTIOND__MAIL__PASSWORD_FILE",
                file.display().to_string(),
            ),
        ],
    ]
}

fn mail_test(
    db: &common::TestDb,
    sink: &SmtpSink,
    env: &[(&str, String)],
    allow: bool,
) -> std::process::Output {
    let mut all: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    if allow {
        all.push(("RETENTIOND__MAIL__ALLOW_AUTH_WITHOUT_TLS", "true"));
    }
    cli(db, sink, &["mail-test", "--to", "ops@example.org"], &all)
}

#[tokio::test]
async fn mail_test_refuses_a_password_without_tls_and_the_server_sees_nothing() {
    let (db, _c, _b) = world().await;
    let dir = tempfile::tempdir().unwrap();
    for i in 0..2 {
        // a server that takes AUTH in plain text: only retentiond can refuse
        let sink = SmtpSink::start_auth("mailer", "s3cret");
        let env = &password_without_tls(&sink, dir.path())[i];
        let out = mail_test(&db, &sink, env, false);
        expect_code(&out, 2);
        let err = stderr(&out);
        assert!(err.contains("mail.allow_auth_without_tls = true"), "{err}");
        assert!(
            !format!("{}{err}", stdout(&out)).contains("s3cret"),
            "{err}"
        );
        assert!(sink.auth_log().is_empty(), "{:?}", sink.auth_log());
        assert!(sink.messages().is_empty());
    }
}

#[tokio::test]
async fn with_allow_auth_without_tls_the_password_reaches_the_server_in_plain_text() {
    let (db, _c, _b) = world().await;
    let dir = tempfile::tempdir().unwrap();
    for i in 0..2 {
        let sink = SmtpSink::start_auth("mailer", "s3cret");
        let env = &password_without_tls(&sink, dir.path())[i];
        let out = mail_test(&db, &sink, env, true);
        let text = expect_code(&out, 0);
        assert!(text.contains("250"), "{text}");
        // tls=opportunistic too: STARTTLS was not offered, AUTH went in plain text
        assert_eq!(sink.auth_log(), ["PLAIN mailer accepted plain"]);
        assert_eq!(received(&sink).len(), 1);
        assert!(!format!("{text}{}", stderr(&out)).contains("s3cret"));
    }
}
