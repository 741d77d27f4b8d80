//! `notify pending`, `outbox list|flush` and `mail-test`.

use lettre::message::{Mailbox, MultiPart};
use lettre::Message;
use serde_json::json;

use super::output::{emit, print_json, time, Table};
use super::{Context, Format, NotifyCommand, OutboxCommand};
use crate::error::{Error, Result};
use crate::notify::sender::{self, FlushReport, FlushScope};
use crate::notify::transport::Transport;
use crate::notify::{outbox, Notifier};
use crate::retention::summary::{self, NoSummary};
use crate::shutdown::Shutdown;

pub async fn notify(cx: &Context, cmd: &NotifyCommand) -> Result<()> {
    let NotifyCommand::Pending { branch, out } = cmd;
    let notifier = Notifier::from_settings(&cx.settings)?;
    let transport = Transport::from_settings(&cx.settings.mail)?;
    let queued = summary::queue_now(cx, &notifier, *branch).await?;
    for (branch_id, why) in &queued.skipped {
        match why {
            NoSummary::UnknownTimeZone(tz) => eprintln!(
                "branch {branch_id}: its time zone {tz:?} is unknown to PostgreSQL, nothing sent \
                 (fix branches.time_zone)"
            ),
            NoSummary::NoAddresses => eprintln!(
                "branch {branch_id}: no notification addresses, nothing sent (retentiond \
                 settings set --branch {branch_id} --notify a@example.com)"
            ),
        }
    }
    let ids = queued.ids;
    if ids.is_empty() {
        return emit(
            out.format,
            json!({"queued": 0, "delivered": 0, "still_queued": 0, "given_up": 0}),
            || "no pending summary to send".to_string(),
        );
    }
    let shutdown = Shutdown::on_signals();
    let scope = FlushScope {
        ignore_backoff: true,
        only: Some(ids.clone()),
        stop: shutdown.token().clone(),
        progress: None,
    };
    let report = flush(cx, &transport, &scope).await?;
    print_flush(out.format, &report, Some(ids.len()))?;
    if report.sent as usize == ids.len() {
        Ok(())
    } else {
        Err(Error::Failed(
            "not every pending summary was delivered: they stay queued for the daemon \
             (see `retentiond outbox list`)"
                .into(),
        ))
    }
}

pub async fn outbox(cx: &Context, cmd: &OutboxCommand) -> Result<()> {
    let client = cx.client().await?;
    match cmd {
        OutboxCommand::List { all, limit, format } => {
            let entries = outbox::list(&client, *all, *limit).await?;
            match format {
                Format::Json => print_json(&entries)?,
                Format::Table => {
                    let mut table = Table::new(&[
                        "ID",
                        "STATE",
                        "KIND",
                        "BRANCH",
                        "RUN",
                        "ATTEMPTS",
                        "QUEUED",
                        "NEXT/SENT",
                        "TO",
                        "LAST ERROR",
                    ]);
                    for e in &entries {
                        table.row(vec![
                            e.id.to_string(),
                            e.state.as_str().to_string(),
                            e.kind.to_string(),
                            e.branch_id.map_or("-".into(), |b| b.to_string()),
                            e.run_id.map_or("-".into(), |r| r.to_string()),
                            e.attempts.to_string(),
                            time(Some(e.created_at)),
                            time(e.sent_at.or(e.failed_at).or(e.next_attempt_at)),
                            e.recipients.join(","),
                            e.last_error.clone().unwrap_or_else(|| "-".into()),
                        ]);
                    }
                    if table.is_empty() {
                        println!("the outbox is empty: no mail queued or failed");
                    } else {
                        print!("{}", table.render());
                    }
                }
            }
            Ok(())
        }
        OutboxCommand::Flush { out } => {
            let transport = Transport::from_settings(&cx.settings.mail)?;
            let shutdown = Shutdown::on_signals();
            let scope = FlushScope {
                ignore_backoff: true,
                only: None,
                stop: shutdown.token().clone(),
                progress: None,
            };
            let report = flush(cx, &transport, &scope).await?;
            print_flush(out.format, &report, None)?;
            if shutdown.token().is_cancelled() {
                return Err(Error::Failed(
                    "stopped: the mails not yet delivered stay queued (see `retentiond outbox list`)"
                        .into(),
                ));
            }
            if report.retrying + report.failed > 0 {
                return Err(Error::Failed(
                    "not every mail was delivered (see `retentiond outbox list`)".into(),
                ));
            }
            Ok(())
        }
    }
}

/// Delivers the mails of `scope` now.
pub(super) async fn flush(
    cx: &Context,
    transport: &Transport,
    scope: &FlushScope,
) -> Result<FlushReport> {
    sender::flush(
        &cx.pool,
        &cx.settings.mail,
        transport,
        cx.clock.as_ref(),
        scope,
    )
    .await
}

fn print_flush(format: Format, r: &FlushReport, queued: Option<usize>) -> Result<()> {
    let mut doc = json!({"delivered": r.sent, "still_queued": r.retrying, "given_up": r.failed});
    if let Some(n) = queued {
        doc["queued"] = json!(n);
    }
    emit(format, doc, || {
        format!(
            "delivered: {}, still queued: {}, given up: {}",
            r.sent, r.retrying, r.failed
        )
    })
}

/// Sends a test message directly (not through the outbox) and prints the
/// server's answer.
pub async fn mail_test(cx: &Context, to: &str, format: Format) -> Result<()> {
    let settings = &cx.settings;
    let to: Mailbox = to.parse().map_err(|e| {
        Error::Invalid(format!(
            "{to:?} is not a mail address ({e}): expected e.g. manager@example.com"
        ))
    })?;
    let from: Mailbox = settings
        .mail
        .from
        .parse()
        .map_err(|e| Error::Invalid(format!("mail.from is not a mailbox: {e}")))?;
    let notifier = Notifier::from_settings(settings)?;
    let transport = Transport::from_settings(&settings.mail)?;
    let data = json!({
        "date": cx.clock.now().format("%Y-%m-%d %H:%M UTC").to_string(),
        "transport": transport.name(),
    });
    let rendered = notifier
        .templates
        .render("test", &settings.mail.locale, &data)?;
    let message = Message::builder()
        .from(from)
        .to(to.clone())
        .subject(rendered.subject)
        .multipart(MultiPart::alternative_plain_html(
            rendered.text,
            rendered.html,
        ))
        .map_err(|e| Error::cause("cannot build the test mail", e))?;
    let recipient = vec![to.email.to_string()];
    match transport.send(&message, "mail-test", &recipient).await {
        Ok(answer) => emit(
            format,
            json!({"accepted": true, "transport": transport.name(), "answer": answer}),
            || format!("test mail accepted ({}): {answer}", transport.name()),
        ),
        Err(e) => Err(Error::Failed(format!(
            "test mail not delivered ({}{}): {}",
            transport.name(),
            if e.permanent {
                ", permanent"
            } else {
                ", transient"
            },
            e.message
        ))),
    }
}
