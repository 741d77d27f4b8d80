//! Notification mails against a real SMTP server on loopback: completed and
//! pending summaries, languages, multipart, no personal data, the outbox
//! across outages and restarts, giving up, and branches without addresses.

mod common;

use common::{day, expect_code, fx, stderr, stdout, SmtpSink, TestDb};
use mail_parser::MessageParser;
use retentiond::clock::FixedClock;
use retentiond::notify::Notifier;
use retentiond::schedule;
use retentiond::settings::Settings;
use tokio_postgres::Client;

/// A received mail, decoded.
struct Received {
    envelope_to: Vec<String>,
    content_type: String,
    subject: String,
    message_id: String,
    text: String,
    html: String,
    raw: String,
}

fn decode(raw: &str) -> Received {
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

fn received(sink: &SmtpSink) -> Vec<Received> {
    sink.messages().iter().map(|m| decode(m)).collect()
}

/// Guest ids start at 7770001 so that a leaked id is easy to find.
async fn world() -> (TestDb, Client, i64) {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    c.batch_execute("ALTER TABLE guests ALTER COLUMN id RESTART WITH 7770001")
        .await
        .unwrap();
    let b = fx::branch(&c, "Köln", None).await;
    fx::policy(&c, b, "guest", "3 years").await;
    (db, c, b)
}

async fn overdue_guests(c: &Client, branch: i64, n: usize, newsletter: bool) {
    for _ in 0..n {
        let g = fx::guest(c, branch, day("2020-01-01")).await;
        fx::sale(c, g, day("2020-01-01")).await;
        if newsletter {
            fx::newsletter(c, g, day("2020-01-01"), None).await;
        }
    }
}

async fn addresses(c: &Client, branch: i64, list: &[&str], locale: Option<&str>) {
    c.execute(
        "INSERT INTO retention.branch_settings (branch_id, notify_addresses, locale, updated_by)
         VALUES ($1, $2, $3, 'fixture')
         ON CONFLICT (branch_id) DO UPDATE SET notify_addresses = $2, locale = $3",
        &[&branch, &list, &locale],
    )
    .await
    .unwrap();
}

fn smtp_env(sink: &SmtpSink) -> Vec<(&'static str, String)> {
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

fn cli(
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
fn assert_no_personal_data(mail: &Received) {
    for personal in [
        "Erika",
        "Mustermann",
        "erika@example.com",
        "1234567",
        "Heidestra",
        "1964",
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

#[tokio::test]
async fn completed_summaries_arrive_per_branch_in_their_language() {
    let (db, c, de) = world().await;
    let en = fx::branch(&c, "Lisboa", None).await;
    fx::policy(&c, en, "guest", "3 years").await;
    overdue_guests(&c, de, 3, true).await;
    overdue_guests(&c, en, 2, false).await;
    addresses(&c, de, &["chef@example.org", "buero@example.org"], None).await;
    addresses(&c, en, &["manager@example.org"], Some("en")).await;
    let sink = SmtpSink::start();

    let out = cli(&db, &sink, &["run", "--yes"], &[]);
    expect_code(&out, 0);
    assert!(
        stderr(&out).contains("summary mail(s) delivered: 2"),
        "{}",
        stderr(&out)
    );

    let mails = received(&sink);
    assert_eq!(mails.len(), 2);
    let german = mails
        .iter()
        .find(|m| m.envelope_to.len() == 2)
        .expect("German mail");
    let english = mails
        .iter()
        .find(|m| m.envelope_to.len() == 1)
        .expect("English mail");
    assert_eq!(
        german.envelope_to,
        ["chef@example.org", "buero@example.org"]
    );
    assert_eq!(english.envelope_to, ["manager@example.org"]);
    for m in [german, english] {
        assert!(
            m.content_type.contains("multipart/alternative"),
            "{}",
            m.content_type
        );
        assert!(m.raw.contains("text/plain") && m.raw.contains("text/html"));
        assert!(m.html.contains("<table"), "HTML part");
        assert_no_personal_data(m);
    }
    assert_eq!(german.subject, "Löschlauf Köln: 3 anonymisiert");
    assert!(
        german
            .text
            .contains("Gast: 3 anonymisiert, 3 Newsletter abgemeldet"),
        "{}",
        german.text
    );
    assert!(
        german
            .text
            .contains("Summe: 3 anonymisiert, 3 Newsletter-Abmeldungen"),
        "{}",
        german.text
    );
    assert_eq!(english.subject, "Deletion run Lisboa: 2 anonymized");
    assert!(
        english
            .text
            .contains("Guest: 2 anonymized, 0 newsletter unsubscriptions"),
        "{}",
        english.text
    );
    // both carry the protocol's seal after the run, which verifies
    let seal = stdout(&out)
        .lines()
        .find_map(|l| l.strip_prefix("protocol seal: "))
        .expect("the run prints the protocol's seal")
        .to_string();
    assert!(
        german
            .text
            .contains(&format!("Protokoll-Siegel nach diesem Lauf: {seal}")),
        "{}",
        german.text
    );
    assert!(
        english
            .text
            .contains(&format!("Protocol seal after this run: {seal}")),
        "{}",
        english.text
    );
    assert!(english.html.contains(&seal), "{}", english.html);
    expect_code(&db.cli(&["protocol", "verify", "--seal", &seal]), 0);
    // the outbox knows them as sent, with the Message-ID the server saw
    let ids: Vec<String> = c
        .query(
            "SELECT message_id FROM retention.mail_outbox WHERE sent_at IS NOT NULL ORDER BY id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(ids.len(), 2);
    for m in &mails {
        assert!(
            ids.iter()
                .any(|id| id.trim_matches(['<', '>']) == m.message_id),
            "{}",
            m.message_id
        );
    }
}

#[tokio::test]
async fn pending_summary_has_counts_blockers_warnings_and_a_bar_chart() {
    let (db, c, b) = world().await;
    overdue_guests(&c, b, 2, true).await;
    // blocked: an unpaid invoice
    let blocked = fx::guest(&c, b, day("2020-01-01")).await;
    fx::sale(&c, blocked, day("2020-01-01")).await;
    fx::invoice(&c, blocked, day("2020-01-01"), false).await;
    addresses(&c, b, &["chef@example.org"], None).await;
    let sink = SmtpSink::start();

    let out = cli(
        &db,
        &sink,
        &["notify", "pending", "--branch", &b.to_string()],
        &[],
    );
    expect_code(&out, 0);
    let mails = received(&sink);
    assert_eq!(mails.len(), 1);
    let m = &mails[0];
    assert_eq!(m.envelope_to, ["chef@example.org"]);
    assert!(m.content_type.contains("multipart/alternative"));
    assert!(
        m.subject.starts_with("Löschhinweise Köln: 2 überfällig"),
        "{}",
        m.subject
    );
    assert!(m.text.contains("Gast: 2 überfällig"), "{}", m.text);
    assert!(
        m.text.contains("1 Gäste: unbezahlte Rechnung"),
        "{}",
        m.text
    );
    assert!(
        m.text
            .contains("Newsletter-Abmeldungen, die dabei erfolgen: 2"),
        "{}",
        m.text
    );
    // types without a period are flagged
    assert!(
        m.text.contains("Newsletter-Abonnent") && m.text.contains("nie gelöscht"),
        "{}",
        m.text
    );
    // automatic deletion is off: the command for a manual run
    assert!(
        m.text.contains(&format!("retentiond run --branch {b}")),
        "{}",
        m.text
    );
    // 14 days of bars, as HTML table cells without images
    assert_eq!(
        m.html.matches("<td width=\"60\" nowrap>").count(),
        14,
        "{}",
        m.html
    );
    assert!(!m.html.contains("<img"));
    assert_no_personal_data(m);
}

#[tokio::test]
async fn english_pending_summary_says_automatic_deletion_is_on() {
    let (db, c, b) = world().await;
    overdue_guests(&c, b, 1, false).await;
    addresses(&c, b, &["manager@example.org"], Some("en")).await;
    fx::branch_settings_auto_delete(&c, b).await;
    let sink = SmtpSink::start();
    expect_code(&cli(&db, &sink, &["notify", "pending"], &[]), 0);
    let m = &received(&sink)[0];
    assert!(
        m.subject.starts_with("Deletion notice Köln: 1 overdue"),
        "{}",
        m.subject
    );
    assert!(m.text.contains("Automatic deletion is on"), "{}", m.text);
    assert_no_personal_data(m);
}

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
async fn completed_toggle_off_means_no_completed_summary() {
    let (db, c, b) = world().await;
    overdue_guests(&c, b, 1, false).await;
    addresses(&c, b, &["chef@example.org"], None).await;
    c.execute(
        "UPDATE retention.branch_settings SET notify_completed = false WHERE branch_id = $1",
        &[&b],
    )
    .await
    .unwrap();
    let sink = SmtpSink::start();
    expect_code(&cli(&db, &sink, &["run", "--yes"], &[]), 0);
    assert!(received(&sink).is_empty());
}

#[tokio::test]
async fn daily_pending_summary_is_queued_once_per_local_day_and_skipped_when_nothing_is_due() {
    let (db, c, b) = world().await;
    addresses(&c, b, &["chef@example.org"], None).await;
    let settings = Settings::from_toml(&format!(
        "[database]\nurl = {:?}\n[schedule]\npending_at = \"07:00\"\n",
        db.url
    ))
    .unwrap();
    let notifier = Notifier::from_settings(&settings).unwrap();
    let pool = db.pool();
    let at = |s: &str| FixedClock(chrono::DateTime::parse_from_rfc3339(s).unwrap().into());
    // nothing due: the day is recorded, no mail
    let q = schedule::pending::tick(&pool, &settings, &notifier, &at("2026-11-25T06:00:00Z"))
        .await
        .unwrap();
    assert!(q.is_empty());
    assert_eq!(
        fx::count(&c, "SELECT count(*) FROM retention.pending_snapshots").await,
        1
    );
    overdue_guests(&c, b, 1, false).await;
    // same day (07:00 CET = 06:00 UTC): already done
    let q = schedule::pending::tick(&pool, &settings, &notifier, &at("2026-11-25T12:00:00Z"))
        .await
        .unwrap();
    assert!(q.is_empty());
    // next day before 07:00 local: not yet
    let q = schedule::pending::tick(&pool, &settings, &notifier, &at("2026-11-26T05:59:00Z"))
        .await
        .unwrap();
    assert!(q.is_empty());
    let q = schedule::pending::tick(&pool, &settings, &notifier, &at("2026-11-26T06:00:00Z"))
        .await
        .unwrap();
    assert_eq!(q.len(), 1);
    let q = schedule::pending::tick(&pool, &settings, &notifier, &at("2026-11-26T06:01:00Z"))
        .await
        .unwrap();
    assert!(q.is_empty(), "a second tick the same day queues nothing");
    let dedupe: String = c
        .query_one("SELECT dedupe_key FROM retention.mail_outbox", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(dedupe, format!("pending:{b}:2026-11-26"));
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

#[tokio::test]
async fn pending_summary_flags_erasure_requests_waiting_too_long() {
    let (db, c, b) = world().await;
    addresses(&c, b, &["chef@example.org"], None).await;
    let g = fx::guest(&c, b, day("2026-10-01")).await;
    let id: i64 = c
        .query_one(
            "INSERT INTO retention.erasure_requests (guest_id, branch_id, reason, requested_by, requested_at)
             VALUES ($1, $2, 'Anruf von Frau Mustermann', 'alice', now() - interval '20 days')
             RETURNING id",
            &[&g, &b],
        )
        .await
        .unwrap()
        .get(0);
    let sink = SmtpSink::start();
    expect_code(
        &cli(
            &db,
            &sink,
            &["notify", "pending", "--branch", &b.to_string()],
            &[],
        ),
        0,
    );
    let m = &received(&sink)[0];
    assert!(
        m.text
            .contains(&format!("Antrag {id}: seit 20 Tagen offen")),
        "{}",
        m.text
    );
    assert!(
        m.html.contains(&format!("Antrag {id} (seit 20 Tagen)")),
        "{}",
        m.html
    );
    // the request's note is the admins', never the mail's
    assert_no_personal_data(m);
}
