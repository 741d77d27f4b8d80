//! The outbox table: mails queued in the transaction that records what they
//! report, delivered later by the sender.

use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use serde::Serialize;

use super::templates::Rendered;
use crate::error::Result;
use crate::retention::branch_settings::mask_address;

/// A mail to queue.
#[derive(Clone, Debug)]
pub struct Mail {
    /// `pending_summary`, `completed_summary` or `test`.
    pub kind: &'static str,
    /// At most one mail per key (a branch's day, a run's branch).
    pub dedupe_key: Option<String>,
    /// The branch it is about.
    pub branch_id: Option<i64>,
    /// The run it reports.
    pub run_id: Option<i64>,
    /// Its language.
    pub locale: String,
    /// Managers' addresses.
    pub recipients: Vec<String>,
    /// Subject and parts.
    pub rendered: Rendered,
}

/// Queues a mail in the caller's transaction; `None` when a mail with the
/// same dedupe key exists already.
pub async fn enqueue(
    client: &impl GenericClient,
    mail: &Mail,
    now: DateTime<Utc>,
    domain: &str,
) -> Result<Option<i64>> {
    static SEQUENCE: AtomicU64 = AtomicU64::new(0);
    let message_id = format!(
        "<retentiond.{}.{}.{}.{}.{}@{}>",
        mail.kind.replace('_', "-"),
        mail.branch_id.unwrap_or(0),
        now.timestamp_nanos_opt().unwrap_or_default(),
        std::process::id(),
        SEQUENCE.fetch_add(1, Ordering::Relaxed),
        domain
    );
    let row = client
        .query_opt(
            include_str!("../../sql/queries/outbox_enqueue.sql"),
            &[
                &mail.kind,
                &mail.dedupe_key,
                &mail.branch_id,
                &mail.run_id,
                &mail.locale,
                &mail.recipients,
                &message_id,
                &mail.rendered.subject,
                &mail.rendered.text,
                &mail.rendered.html,
                &now,
            ],
        )
        .await?;
    let id = row.map(|r| r.get::<_, i64>(0));
    if let Some(id) = id {
        tracing::info!(
            outbox_id = id,
            kind = mail.kind,
            branch_id = mail.branch_id,
            recipients = %mask_all(&mail.recipients),
            "mail queued"
        );
    }
    Ok(id)
}

/// One outbox entry as listed.
#[derive(Debug, Serialize)]
pub struct Entry {
    /// Outbox id.
    pub id: i64,
    /// Kind of mail.
    pub kind: String,
    /// Branch.
    pub branch_id: Option<i64>,
    /// Run.
    pub run_id: Option<i64>,
    /// `queued`, `sent` or `failed`.
    pub state: String,
    /// Recipients, masked.
    pub recipients: Vec<String>,
    /// Subject.
    pub subject: String,
    /// Stable Message-ID.
    pub message_id: String,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
    /// Delivery attempts so far.
    pub attempts: i32,
    /// Next attempt (queued mails).
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Last error (masked).
    pub last_error: Option<String>,
    /// When the server accepted it.
    pub sent_at: Option<DateTime<Utc>>,
    /// When it was given up.
    pub failed_at: Option<DateTime<Utc>>,
}

/// Lists queued and failed mails, and with `all` the sent ones too (newest last).
pub async fn list(client: &impl GenericClient, all: bool, limit: i64) -> Result<Vec<Entry>> {
    let rows = client
        .query(
            include_str!("../../sql/queries/outbox_list.sql"),
            &[&all, &limit],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| {
            let sent: Option<DateTime<Utc>> = r.get("sent_at");
            let failed: Option<DateTime<Utc>> = r.get("failed_at");
            let recipients: Vec<String> = r.get("recipients");
            Entry {
                id: r.get("id"),
                kind: r.get("kind"),
                branch_id: r.get("branch_id"),
                run_id: r.get("run_id"),
                state: match (sent, failed) {
                    (Some(_), _) => "sent",
                    (None, Some(_)) => "failed",
                    _ => "queued",
                }
                .to_string(),
                recipients: recipients.iter().map(|a| mask_address(a)).collect(),
                subject: r.get("subject"),
                message_id: r.get("message_id"),
                created_at: r.get("created_at"),
                attempts: r.get("attempts"),
                next_attempt_at: (sent.is_none() && failed.is_none())
                    .then(|| r.get("next_attempt_at")),
                last_error: r.get("last_error"),
                sent_at: sent,
                failed_at: failed,
            }
        })
        .collect())
}

/// `a***@example.com, b***@example.org`.
pub fn mask_all(addresses: &[String]) -> String {
    addresses
        .iter()
        .map(|a| mask_address(a))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Masks every mail address in a text (server answers may quote them).
pub fn mask_addresses(text: &str) -> String {
    text.split_inclusive(|c: char| c.is_whitespace())
        .map(|word| {
            let trimmed = word.trim_end();
            let core = trimmed.trim_matches(|c: char| {
                matches!(c, '<' | '>' | ',' | ';' | '(' | ')' | '"' | '\'')
            });
            if core.contains('@') {
                word.replace(core, &mask_address(core))
            } else {
                word.to_string()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_in_server_answers_are_masked() {
        assert_eq!(
            mask_addresses("550 5.1.1 <manager@example.com>: Recipient address rejected"),
            "550 5.1.1 <m***@example.com>: Recipient address rejected"
        );
        assert_eq!(mask_addresses("no address here"), "no address here");
    }
}
