//! Drains the outbox: one mail per transaction, locked while it is sent,
//! marked sent only after the server accepted it. Transient failures (4xx,
//! I/O, timeouts) are retried with exponential backoff up to
//! `mail.max_attempts`; a permanent one (5xx) or the last attempt gives the
//! mail up visibly: a `mail_failed` protocol row and a log error.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use lettre::message::{Mailbox, MultiPart};
use lettre::Message;
use serde::Serialize;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::transport::{SendError, Transport};
use crate::address::mask_all;
use crate::clock::Clock;
use crate::db::outbox::{Pick, Queued};
use crate::db::protocol::{self, Entry};
use crate::db::{self, DbPool, GenericClient};
use crate::error::{Error, Result};
use crate::model::{Action, DAEMON_ACTOR};
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

/// Which mails a pass takes, and when it stops.
#[derive(Debug, Clone, Default)]
pub struct FlushScope {
    /// Ignore the retry backoff (an admin's `outbox flush`, a run's own summary).
    pub ignore_backoff: bool,
    /// Only these outbox ids.
    pub only: Option<Vec<i64>>,
    /// Shutdown: no new mail is taken, and a send still going after a short
    /// grace is left (the mail stays queued, its Message-ID stays the same).
    pub stop: CancellationToken,
    /// Counts each mail handled (the daemon's watchdog).
    pub progress: Option<Arc<AtomicU64>>,
}

/// How long a stop lets a send in hand finish.
const STOP_GRACE: std::time::Duration = std::time::Duration::from_secs(3);

/// Delivers what is due. Stops at the end of the queue; every mail is tried
/// at most once per pass.
#[tracing::instrument(skip_all, err)]
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
        if scope.stop.is_cancelled() {
            break;
        }
        let tx = client.transaction().await?;
        let now = clock.now();
        let pick = Pick {
            now,
            ignore_backoff: scope.ignore_backoff,
            only: scope.only.as_deref(),
            tried: &tried,
        };
        let Some(queued) = db::outbox::next(&tx, &pick).await? else {
            tx.commit().await?;
            break;
        };
        let id = queued.id;
        tried.push(id);
        let attempts = queued.attempts + 1;
        let Some(result) = send(transport, &from, &queued, &scope.stop).await else {
            // rolled back: still queued, retried at the next start
            tracing::warn!(
                outbox.id = id,
                "stop requested during a send; the mail stays queued"
            );
            break;
        };
        let outcome = Outcome {
            queued: &queued,
            attempts,
            now,
        };
        outcome
            .record(&tx, mail, clock, result, &mut report)
            .await?;
        tx.commit().await?;
        if let Some(progress) = &scope.progress {
            progress.fetch_add(1, Ordering::Relaxed);
        }
    }
    Ok(report)
}

/// Sends one mail; `None` when a stop came and the send did not finish
/// within the grace. A mail that cannot be built (a recipient that no
/// longer parses) is a permanent failure, so it blocks nothing behind it.
async fn send(
    transport: &Transport,
    from: &Mailbox,
    queued: &Queued,
    stop: &CancellationToken,
) -> Option<Result<String, SendError>> {
    let message = match build(from, queued) {
        Ok(message) => message,
        Err(e) => {
            return Some(Err(SendError {
                permanent: true,
                message: e.to_string(),
            }))
        }
    };
    let name = format!("{:08}-{}", queued.id, queued.kind);
    let send = transport.send(&message, &name, &queued.recipients);
    tokio::pin!(send);
    tokio::select! {
        result = &mut send => Some(result),
        _ = stop.cancelled() => tokio::time::timeout(STOP_GRACE, &mut send).await.ok(),
    }
}

/// One attempt at one mail, to be recorded.
struct Outcome<'a> {
    queued: &'a Queued,
    attempts: i32,
    now: DateTime<Utc>,
}

impl Outcome<'_> {
    /// Marks the mail sent, given up (with a `mail_failed` protocol row) or
    /// due again after the backoff, in the pass's transaction.
    async fn record(
        &self,
        tx: &impl GenericClient,
        mail: &MailSettings,
        clock: &dyn Clock,
        result: Result<String, SendError>,
        report: &mut FlushReport,
    ) -> Result<()> {
        let (id, attempts, now) = (self.queued.id, self.attempts, self.now);
        let recipients = &self.queued.recipients;
        match result {
            Ok(answer) => {
                db::outbox::mark_sent(tx, id, clock.now(), attempts, &answer).await?;
                tracing::info!(outbox.id = id, recipients = %mask_all(recipients), answer = %answer, "mail delivered");
                report.sent += 1;
            }
            Err(e) if e.permanent || attempts >= mail.max_attempts as i32 => {
                db::outbox::mark_failed(tx, id, now, attempts, &e.message).await?;
                protocol::append(
                    tx,
                    &Entry {
                        branch_id: self.queued.branch_id,
                        details: json!({
                            "outbox_id": id,
                            "kind": self.queued.kind,
                            "attempts": attempts,
                            "permanent": e.permanent,
                            "error": e.message,
                        }),
                        ..Entry::new(DAEMON_ACTOR, Action::MailFailed)
                    },
                )
                .await?;
                tracing::error!(
                    outbox.id = id,
                    recipients = %mask_all(recipients),
                    attempts,
                    error = %e.message,
                    "mail given up; see `retentiond outbox list`"
                );
                report.failed += 1;
            }
            Err(e) => {
                let next = retry_at(now, mail.retry_base, attempts);
                db::outbox::mark_retry(tx, id, next, attempts, &e.message).await?;
                tracing::warn!(
                    outbox.id = id,
                    attempts,
                    next_attempt = %next.to_rfc3339(),
                    error = %e.message,
                    "mail not delivered; it stays queued"
                );
                report.retrying += 1;
            }
        }
        Ok(())
    }
}

/// Exponential backoff: base, 2×base, 4×base, … at most six hours.
pub fn retry_at(now: DateTime<Utc>, base: std::time::Duration, attempts: i32) -> DateTime<Utc> {
    let factor = 2u32.saturating_pow((attempts - 1).clamp(0, 16) as u32);
    let wait = base
        .saturating_mul(factor)
        .min(std::time::Duration::from_secs(6 * 3600));
    now + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::hours(6))
}

fn build(from: &Mailbox, queued: &Queued) -> Result<Message> {
    let mut builder = Message::builder()
        .from(from.clone())
        .subject(queued.subject.clone())
        .message_id(Some(queued.message_id.clone()));
    for r in &queued.recipients {
        let to: Mailbox = r.parse().map_err(|e| {
            Error::cause(
                format!(
                    "queued recipient {} is not a mailbox",
                    mask_all(std::slice::from_ref(r))
                ),
                e,
            )
        })?;
        builder = builder.to(to);
    }
    builder
        .multipart(MultiPart::alternative_plain_html(
            queued.text.clone(),
            queued.html.clone(),
        ))
        .map_err(|e| Error::cause("cannot build the mail", e))
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
