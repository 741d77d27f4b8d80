//! Drains the outbox: one mail per transaction, locked while it is sent,
//! marked sent only after the server accepted it. Transient failures (4xx,
//! I/O, timeouts) are retried with exponential backoff up to
//! `mail.max_attempts`; a permanent one (5xx) or the last attempt gives the
//! mail up visibly: a `mail_failed` protocol row and a log error.

use chrono::{DateTime, Utc};
use lettre::message::{Mailbox, MultiPart};
use lettre::Message;
use serde::Serialize;
use serde_json::json;

use super::outbox::mask_all;
use super::transport::Transport;
use crate::clock::Clock;
use crate::db::DbPool;
use crate::error::{Error, Result};
use crate::retention::protocol;
use crate::settings::MailSettings;

/// What one pass of the sender did.
#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct FlushReport {
    /// Mails the server accepted.
    pub sent: u32,
    /// Mails that failed and will be retried.
    pub retrying: u32,
    /// Mails given up.
    pub failed: u32,
}

/// Which mails a pass takes.
#[derive(Debug, Clone, Default)]
pub struct FlushScope {
    /// Ignore the retry backoff (an admin's `outbox flush`, a run's own summary).
    pub now: bool,
    /// Only these outbox ids.
    pub only: Option<Vec<i64>>,
}

/// Delivers what is due. Stops at the end of the queue; every mail is tried
/// at most once per pass.
pub async fn flush(
    pool: &DbPool,
    mail: &MailSettings,
    transport: &Transport,
    clock: &dyn Clock,
    scope: &FlushScope,
) -> Result<FlushReport> {
    let from: Mailbox = mail
        .from
        .parse()
        .map_err(|e| Error::Invalid(format!("mail.from is not a mailbox: {e}")))?;
    let mut report = FlushReport::default();
    let mut tried: Vec<i64> = Vec::new();
    let mut client = pool.get().await?;
    loop {
        let tx = client.transaction().await?;
        let now = clock.now();
        let Some(row) = tx
            .query_opt(
                include_str!("../../sql/queries/outbox_next.sql"),
                &[&now, &scope.now, &scope.only, &tried],
            )
            .await?
        else {
            tx.commit().await?;
            break;
        };
        let id: i64 = row.get("id");
        tried.push(id);
        let recipients: Vec<String> = row.get("recipients");
        let attempts: i32 = row.get::<_, i32>("attempts") + 1;
        let message = build(&from, &row)?;
        let result = transport
            .send(
                &message,
                &format!("{id:08}-{}", row.get::<_, String>("kind")),
                &recipients,
            )
            .await;
        match result {
            Ok(answer) => {
                tx.execute(
                    "UPDATE retention.mail_outbox
                     SET sent_at = $2, attempts = $3, server_response = $4, last_error = NULL
                     WHERE id = $1",
                    &[&id, &clock.now(), &attempts, &answer],
                )
                .await?;
                tracing::info!(
                    outbox_id = id,
                    recipients = %mask_all(&recipients),
                    answer = %answer,
                    "mail delivered"
                );
                report.sent += 1;
            }
            Err(e) if e.permanent || attempts >= mail.max_attempts as i32 => {
                tx.execute(
                    "UPDATE retention.mail_outbox
                     SET failed_at = $2, attempts = $3, last_error = $4
                     WHERE id = $1",
                    &[&id, &now, &attempts, &e.message],
                )
                .await?;
                let branch_id: Option<i64> = row.get("branch_id");
                protocol::append(
                    &tx,
                    &protocol::Entry {
                        actor: "retentiond",
                        action: "mail_failed",
                        branch_id,
                        details: json!({
                            "outbox_id": id,
                            "kind": row.get::<_, String>("kind"),
                            "attempts": attempts,
                            "permanent": e.permanent,
                            "error": e.message,
                        }),
                        ..Default::default()
                    },
                )
                .await?;
                tracing::error!(
                    outbox_id = id,
                    recipients = %mask_all(&recipients),
                    attempts,
                    error = %e.message,
                    "mail given up; see `retentiond outbox list`"
                );
                report.failed += 1;
            }
            Err(e) => {
                let next = retry_at(now, mail.retry_base, attempts);
                tx.execute(
                    "UPDATE retention.mail_outbox
                     SET attempts = $3, last_error = $4, next_attempt_at = $2
                     WHERE id = $1",
                    &[&id, &next, &attempts, &e.message],
                )
                .await?;
                tracing::warn!(
                    outbox_id = id,
                    attempts,
                    next_attempt = %next.to_rfc3339(),
                    error = %e.message,
                    "mail not delivered; it stays queued"
                );
                report.retrying += 1;
            }
        }
        tx.commit().await?;
    }
    Ok(report)
}

/// Exponential backoff: base, 2×base, 4×base, … at most six hours.
pub fn retry_at(now: DateTime<Utc>, base: std::time::Duration, attempts: i32) -> DateTime<Utc> {
    let factor = 2u32.saturating_pow((attempts - 1).clamp(0, 16) as u32);
    let wait = base
        .saturating_mul(factor)
        .min(std::time::Duration::from_secs(6 * 3600));
    now + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::hours(6))
}

fn build(from: &Mailbox, row: &tokio_postgres::Row) -> Result<Message> {
    let recipients: Vec<String> = row.get("recipients");
    let mut builder = Message::builder()
        .from(from.clone())
        .subject(row.get::<_, String>("subject"))
        .message_id(Some(row.get("message_id")));
    for r in &recipients {
        let to: Mailbox = r.parse().map_err(|e| {
            Error::Failed(format!(
                "queued recipient {} is not a mailbox: {e}",
                mask_all(std::slice::from_ref(r))
            ))
        })?;
        builder = builder.to(to);
    }
    builder
        .multipart(MultiPart::alternative_plain_html(
            row.get::<_, String>("body_text"),
            row.get::<_, String>("body_html"),
        ))
        .map_err(|e| Error::Failed(format!("cannot build the mail: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_six_hours() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-25T07:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let base = std::time::Duration::from_secs(60);
        assert_eq!(retry_at(now, base, 1) - now, chrono::Duration::minutes(1));
        assert_eq!(retry_at(now, base, 2) - now, chrono::Duration::minutes(2));
        assert_eq!(retry_at(now, base, 4) - now, chrono::Duration::minutes(8));
        assert_eq!(retry_at(now, base, 30) - now, chrono::Duration::hours(6));
    }
}
