//! The world of the mail_* tests: a branch whose guest ids are easy to find
//! in a mail, its notification addresses, the binary talking to the SMTP
//! sink, and the mails the sink received, decoded.

use mail_parser::MessageParser;
use tokio_postgres::Client;

use super::{day, fx, SmtpSink, TestDb};

/// A received mail, decoded.
pub struct Received {
    pub envelope_to: Vec<String>,
    pub content_type: String,
    pub subject: String,
    pub message_id: String,
    pub text: String,
    pub html: String,
    pub raw: String,
}

pub fn decode(raw: &str) -> Received {
    let m = MessageParser::default()
        .parse(raw.as_bytes())
        .expect("a parseable mail");
    Received {
        envelope_to: m
            .header_raw("X-Envelope-To")
            .unwrap_or_default()
            .trim()
            .split(',')
            .map(str::to_string)
            .collect(),
        content_type: m.header_raw("Content-Type").unwrap_or_default().to_string(),
        subject: m.subject().unwrap_or_default().to_string(),
        message_id: m.message_id().unwrap_or_default().to_string(),
        text: m.body_text(0).map(|t| t.into_owned()).unwrap_or_default(),
        html: m.body_html(0).map(|t| t.into_owned()).unwrap_or_default(),
        raw: raw.to_string(),
    }
}

pub fn received(sink: &SmtpSink) -> Vec<Received> {
    sink.messages().iter().map(|m| decode(m)).collect()
}

/// Guest ids start at 7770001 so that a leaked id is easy to find.
pub async fn world() -> (TestDb, Client, i64) {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    c.batch_execute("ALTER TABLE guests ALTER COLUMN id RESTART WITH 7770001")
        .await
        .unwrap();
    let b = fx::branch(&c, "Köln", None).await;
    fx::policy(&c, b, "guest", "3 years").await;
    (db, c, b)
}

pub async fn overdue_guests(c: &Client, branch: i64, n: usize, newsletter: bool) {
    for _ in 0..n {
        let g = fx::guest(c, branch, day("2020-01-01")).await;
        fx::sale(c, g, day("2020-01-01")).await;
        if newsletter {
            fx::newsletter(c, g, day("2020-01-01"), None).await;
        }
    }
}

pub async fn addresses(c: &Client, branch: i64, list: &[&str], locale: Option<&str>) {
    c.execute(
        "INSERT INTO retention.branch_settings (branch_id, notify_addresses, locale, updated_by)
         VALUES ($1, $2, $3, 'fixture')
         ON CONFLICT (branch_id) DO UPDATE SET notify_addresses = $2, locale = $3",
        &[&branch, &list, &locale],
    )
    .await
    .unwrap();
}

pub fn smtp_env(sink: &SmtpSink) -> Vec<(&'static str, String)> {
    vec![
        ("RETENTIOND__MAIL__TRANSPORT", "smtp".into()),
        ("RETENTIOND__MAIL__SMTP_URL", sink.url()),
        (
            "RETENTIOND__MAIL__FROM",
            "Retention <retention@example.net>".into(),
        ),
        ("RETENTIOND__MAIL__TIMEOUT", "5s".into()),
        ("RETENTIOND__BATCH__PAUSE", "0s".into()),
    ]
}

pub fn cli(
    db: &TestDb,
    sink: &SmtpSink,
    args: &[&str],
    extra: &[(&str, &str)],
) -> std::process::Output {
    let env = smtp_env(sink);
    let mut all: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    all.extend_from_slice(extra);
    db.cli_env(args, &all)
}

/// Nothing a guest could be recognised by.
pub fn assert_no_personal_data(mail: &Received) {
    for personal in [
        "Erika",
        "Mustermann",
        "erika@example.com",
        "1234567",
        "Heidestra",
        // the birthday, in either form (a bare year can occur in a hash)
        "1964-08-12",
        "12.08.1964",
        "Nüsse",
        "Allergie",
        "7770",
    ] {
        assert!(!mail.raw.contains(personal), "raw mail holds {personal:?}");
        assert!(
            !mail.text.contains(personal),
            "text part holds {personal:?}"
        );
        assert!(
            !mail.html.contains(personal),
            "HTML part holds {personal:?}"
        );
    }
}

/// The mails `notify pending --branch` sends now as the login of `url`,
/// through the file transport, after setting the branch's address (and
/// English): what a manager reads.
pub fn pending_mails_of(db: &TestDb, url: &str, branch: i64) -> Vec<Received> {
    let b = branch.to_string();
    let set = [
        "settings",
        "set",
        "--branch",
        &b,
        "--notify",
        "manager@example.org",
        "--locale",
        "en",
    ];
    super::expect_code(&db.cli_as(url, &set), 0);
    let dir = tempfile::tempdir().unwrap();
    let sent = db.cli_env(
        &["notify", "pending", "--branch", &b],
        &[
            ("RETENTIOND__DATABASE__URL", url),
            ("RETENTIOND__MAIL__TRANSPORT", "file"),
            ("RETENTIOND__MAIL__FILE_DIR", dir.path().to_str().unwrap()),
        ],
    );
    super::expect_code(&sent, 0);
    std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| decode(&std::fs::read_to_string(e.unwrap().path()).unwrap()))
        .collect()
}
