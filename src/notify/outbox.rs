//! The outbox: mails queued in the transaction that records what they
//! report, delivered later by the sender; listed with masked recipients.

use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::templates::Rendered;
use crate::address::{mask, mask_all};
use crate::db::{self, GenericClient};
use crate::error::Result;
use crate::model::{Locale, MailKind};

/// A mail to queue.
#[derive(Clone, Debug)]
pub struct Mail {
    /// What it is.
    pub kind: MailKind,
    /// At most one mail per key (a branch's day, a run's branch).
    pub dedupe_key: Option<String>,
    /// The branch it is about.
    pub branch_id: Option<i64>,
    /// The run it reports.
    pub run_id: Option<i64>,
    /// Its language.
    pub locale: Locale,
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
        mail.kind.as_str().replace('_', "-"),
        mail.branch_id.unwrap_or(0),
        now.timestamp_nanos_opt().unwrap_or_default(),
        std::process::id(),
        SEQUENCE.fetch_add(1, Ordering::Relaxed),
        domain
    );
    let id = db::outbox::insert(
        client,
        &db::outbox::NewMail {
            kind: mail.kind,
            dedupe_key: mail.dedupe_key.as_deref(),
            branch_id: mail.branch_id,
            run_id: mail.run_id,
            locale: mail.locale.as_str(),
            recipients: &mail.recipients,
            message_id: &message_id,
            subject: &mail.rendered.subject,
            text: &mail.rendered.text,
            html: &mail.rendered.html,
            now,
        },
    )
    .await?;
    if let Some(id) = id {
        tracing::info!(
            outbox.id = id,
            kind = mail.kind.as_str(),
            branch.id = mail.branch_id,
            recipients = %mask_all(&mail.recipients),
            "mail queued"
        );
    }
    Ok(id)
}

/// Where a queued mail stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Waiting for its (next) attempt.
    Queued,
    /// The server accepted it.
    Sent,
    /// Given up.
    Failed,
}

impl State {
    /// The name `outbox list` shows.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Queued => "queued",
            State::Sent => "sent",
            State::Failed => "failed",
        }
    }
}

/// One outbox entry as listed.
#[derive(Debug, Serialize)]
pub struct Entry {
    /// Outbox id.
    pub id: i64,
    /// Kind of mail.
    pub kind: MailKind,
    /// Branch.
    pub branch_id: Option<i64>,
    /// Run.
    pub run_id: Option<i64>,
    /// Queued, sent or failed.
    pub state: State,
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
    Ok(db::outbox::list(client, all, limit)
        .await?
        .into_iter()
        .map(|r| {
            let state = match (r.sent_at, r.failed_at) {
                (Some(_), _) => State::Sent,
                (None, Some(_)) => State::Failed,
                _ => State::Queued,
            };
            Entry {
                id: r.id,
                kind: r.kind,
                branch_id: r.branch_id,
                run_id: r.run_id,
                state,
                recipients: r.recipients.iter().map(|a| mask(a)).collect(),
                subject: r.subject,
                message_id: r.message_id,
                created_at: r.created_at,
                attempts: r.attempts,
                next_attempt_at: (state == State::Queued).then_some(r.next_attempt_at),
                last_error: r.last_error,
                sent_at: r.sent_at,
                failed_at: r.failed_at,
            }
        })
        .collect())
}
