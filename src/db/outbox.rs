//! `retention.mail_outbox` and `retention.pending_snapshots`: mails queued in
//! the transaction that records what they report, and the days whose pending
//! summary has been decided.

use chrono::{DateTime, NaiveDate, Utc};

use super::{parsed, GenericClient};
use crate::error::Result;
use crate::model::MailKind;

/// A mail to queue, rendered.
#[derive(Debug)]
pub struct NewMail<'a> {
    /// What it is.
    pub kind: MailKind,
    /// At most one mail per key (a branch's day, a run's branch).
    pub dedupe_key: Option<&'a str>,
    /// The branch it is about.
    pub branch_id: Option<i64>,
    /// The run it reports.
    pub run_id: Option<i64>,
    /// Its language.
    pub locale: &'a str,
    /// Recipients.
    pub recipients: &'a [String],
    /// Stable Message-ID.
    pub message_id: &'a str,
    /// Subject line.
    pub subject: &'a str,
    /// Plain-text part.
    pub text: &'a str,
    /// HTML part.
    pub html: &'a str,
    /// When it is queued (and first due).
    pub now: DateTime<Utc>,
}

/// Queues a mail; `None` when a mail with the same dedupe key exists.
pub async fn insert(client: &impl GenericClient, mail: &NewMail<'_>) -> Result<Option<i64>> {
    Ok(query!("outbox_enqueue")
        .opt(
            client,
            &[
                &mail.kind.as_str(),
                &mail.dedupe_key,
                &mail.branch_id,
                &mail.run_id,
                &mail.locale,
                &mail.recipients,
                &mail.message_id,
                &mail.subject,
                &mail.text,
                &mail.html,
                &mail.now,
            ],
        )
        .await?
        .map(|r| r.get(0)))
}

/// One outbox row as listed (recipients as stored).
#[derive(Debug)]
pub struct Listed {
    /// Outbox id.
    pub id: i64,
    /// Kind of mail.
    pub kind: MailKind,
    /// Branch.
    pub branch_id: Option<i64>,
    /// Run.
    pub run_id: Option<i64>,
    /// Recipients.
    pub recipients: Vec<String>,
    /// Subject.
    pub subject: String,
    /// Stable Message-ID.
    pub message_id: String,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
    /// Delivery attempts so far.
    pub attempts: i32,
    /// Next attempt.
    pub next_attempt_at: DateTime<Utc>,
    /// Last error.
    pub last_error: Option<String>,
    /// When the server accepted it.
    pub sent_at: Option<DateTime<Utc>>,
    /// When it was given up.
    pub failed_at: Option<DateTime<Utc>>,
}

/// Queued and failed mails, with `all` the sent ones too; the newest
/// `limit`, oldest first.
pub async fn list(client: &impl GenericClient, all: bool, limit: i64) -> Result<Vec<Listed>> {
    let rows = query!("outbox_list").all(client, &[&all, &limit]).await?;
    rows.iter()
        .map(|r| {
            Ok(Listed {
                id: r.get("id"),
                kind: parsed(r, "kind")?,
                branch_id: r.get("branch_id"),
                run_id: r.get("run_id"),
                recipients: r.get("recipients"),
                subject: r.get("subject"),
                message_id: r.get("message_id"),
                created_at: r.get("created_at"),
                attempts: r.get("attempts"),
                next_attempt_at: r.get("next_attempt_at"),
                last_error: r.get("last_error"),
                sent_at: r.get("sent_at"),
                failed_at: r.get("failed_at"),
            })
        })
        .collect::<Result<Vec<_>>>()
}

/// A queued mail, locked for its delivery attempt.
#[derive(Debug)]
pub struct Queued {
    /// Outbox id.
    pub id: i64,
    /// Kind of mail.
    pub kind: MailKind,
    /// Branch.
    pub branch_id: Option<i64>,
    /// Recipients.
    pub recipients: Vec<String>,
    /// Stable Message-ID.
    pub message_id: String,
    /// Subject.
    pub subject: String,
    /// Plain-text part.
    pub text: String,
    /// HTML part.
    pub html: String,
    /// Attempts so far.
    pub attempts: i32,
}

/// Which mails [`next`] may take.
#[derive(Debug)]
pub struct Pick<'a> {
    /// The clock's now.
    pub now: DateTime<Utc>,
    /// Ignore the retry backoff.
    pub ignore_backoff: bool,
    /// Only these ids.
    pub only: Option<&'a [i64]>,
    /// Not these (tried in this pass already).
    pub tried: &'a [i64],
}

/// Locks the next mail that is due (`FOR UPDATE SKIP LOCKED`) in the
/// caller's transaction.
pub async fn next(client: &impl GenericClient, pick: &Pick<'_>) -> Result<Option<Queued>> {
    query!("outbox_next")
        .opt(
            client,
            &[&pick.now, &pick.ignore_backoff, &pick.only, &pick.tried],
        )
        .await?
        .map(|r| {
            Ok::<_, crate::error::Error>(Queued {
                id: r.get("id"),
                kind: parsed(&r, "kind")?,
                branch_id: r.get("branch_id"),
                recipients: r.get("recipients"),
                message_id: r.get("message_id"),
                subject: r.get("subject"),
                text: r.get("body_text"),
                html: r.get("body_html"),
                attempts: r.get("attempts"),
            })
        })
        .transpose()
}

/// The server accepted the mail.
pub async fn mark_sent(
    client: &impl GenericClient,
    id: i64,
    at: DateTime<Utc>,
    attempts: i32,
    answer: &str,
) -> Result<()> {
    query!("outbox_mark_sent")
        .exec(client, &[&id, &at, &attempts, &answer])
        .await?;
    Ok(())
}

/// The mail is given up.
pub async fn mark_failed(
    client: &impl GenericClient,
    id: i64,
    at: DateTime<Utc>,
    attempts: i32,
    error: &str,
) -> Result<()> {
    query!("outbox_mark_failed")
        .exec(client, &[&id, &at, &attempts, &error])
        .await?;
    Ok(())
}

/// The mail waits for another attempt at `next`.
pub async fn mark_retry(
    client: &impl GenericClient,
    id: i64,
    next: DateTime<Utc>,
    attempts: i32,
    error: &str,
) -> Result<()> {
    query!("outbox_mark_retry")
        .exec(client, &[&id, &next, &attempts, &error])
        .await?;
    Ok(())
}

/// Whether a branch's pending summary of a local day has been decided.
pub async fn snapshot_taken(
    client: &impl GenericClient,
    branch_id: i64,
    day: NaiveDate,
) -> Result<bool> {
    Ok(query!("pending_snapshot_taken")
        .one(client, &[&branch_id, &day])
        .await?
        .get(0))
}

/// Claims a branch's day with the counts reported; false when taken already.
pub async fn claim_snapshot(
    client: &impl GenericClient,
    branch_id: i64,
    day: NaiveDate,
    now: DateTime<Utc>,
    overdue: i64,
    due_soon: i64,
) -> Result<bool> {
    Ok(query!("pending_snapshot_claim")
        .exec(client, &[&branch_id, &day, &now, &overdue, &due_soon])
        .await?
        == 1)
}

/// Links a claimed day to the mail queued for it.
pub async fn link_snapshot(
    client: &impl GenericClient,
    branch_id: i64,
    day: NaiveDate,
    outbox_id: i64,
) -> Result<()> {
    query!("pending_snapshot_set_outbox")
        .exec(client, &[&branch_id, &day, &outbox_id])
        .await?;
    Ok(())
}
