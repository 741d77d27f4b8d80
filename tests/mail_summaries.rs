//! What the summaries say and when they are sent: completed summaries per
//! branch in its language with the protocol's seal, pending summaries with
//! counts, blockers, warnings, a bar chart and overdue erasure requests,
//! once per local day; never a guest's personal data.

mod common;

use common::mail::{addresses, assert_no_personal_data, cli, overdue_guests, received, world};
use common::{day, expect_code, fx, stderr, stdout, SmtpSink};
use retentiond::notify::Notifier;
use retentiond::retention::summary;
use retentiond::settings::Settings;

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
    let at = |s: &str| {
        common::context(
            settings.clone(),
            chrono::DateTime::parse_from_rfc3339(s).unwrap().into(),
        )
    };
    // nothing due: the day is recorded, no mail
    let q = summary::queue_due(&at("2026-11-25T06:00:00Z"), &notifier)
        .await
        .unwrap();
    assert!(q.is_empty());
    assert_eq!(
        fx::count(&c, "SELECT count(*) FROM retention.pending_snapshots").await,
        1
    );
    overdue_guests(&c, b, 1, false).await;
    // same day (07:00 CET = 06:00 UTC): already done
    let q = summary::queue_due(&at("2026-11-25T12:00:00Z"), &notifier)
        .await
        .unwrap();
    assert!(q.is_empty());
    // next day before 07:00 local: not yet
    let q = summary::queue_due(&at("2026-11-26T05:59:00Z"), &notifier)
        .await
        .unwrap();
    assert!(q.is_empty());
    let q = summary::queue_due(&at("2026-11-26T06:00:00Z"), &notifier)
        .await
        .unwrap();
    assert_eq!(q.len(), 1);
    let q = summary::queue_due(&at("2026-11-26T06:01:00Z"), &notifier)
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
