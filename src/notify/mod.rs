//! Notification mails: summaries the core fills in ([`summary`]) rendered
//! from templates ([`templates`]) into a transactional outbox ([`outbox`]),
//! delivered by a sender with retries ([`sender`]) through lettre
//! ([`transport`]). Mails hold counts only: no names, no guest addresses, no
//! guest ids. This module imports no core module: it is fed plain data.

pub mod outbox;
pub mod sender;
pub mod summary;
pub mod templates;
pub mod transport;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::clock::branch_time_zone;
use crate::db::GenericClient;
use crate::error::Result;
use crate::model::{Locale, MailKind};
use crate::settings::Settings;

pub use outbox::Mail;
pub use summary::{
    BranchMail, CompletedSummary, HeldSummary, PendingSummary, TypeActions, TypeDue,
};
pub use templates::Templates;

/// Renders summaries and queues them.
pub struct Notifier {
    /// Compiled templates.
    pub templates: Arc<Templates>,
    /// Language for branches without their own.
    pub default_locale: Locale,
    /// Domain of `mail.from`, for Message-IDs.
    pub domain: String,
    /// For branches whose time zone is not an IANA name.
    pub time_zone: Tz,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifier")
            .field("default_locale", &self.default_locale)
            .finish_non_exhaustive()
    }
}

impl Notifier {
    /// Compiles the templates of the settings.
    pub fn from_settings(settings: &Settings) -> Result<Notifier> {
        Ok(Notifier {
            templates: Arc::new(Templates::load(settings.mail.template_dir.as_deref())?),
            default_locale: settings.mail.locale.parse()?,
            domain: settings
                .mail
                .from
                .rsplit_once('@')
                .map(|(_, d)| d.trim_end_matches('>').to_string())
                .unwrap_or_else(|| "localhost".to_string()),
            time_zone: settings.schedule.time_zone,
        })
    }

    fn locale_and_zone(&self, branch: &BranchMail) -> (Locale, Tz) {
        (
            branch.locale.unwrap_or(self.default_locale),
            branch_time_zone(branch.branch_id, &branch.time_zone, self.time_zone),
        )
    }

    /// Renders and queues the completed summaries of a run, in the caller's
    /// transaction (the one that records the run's end).
    pub async fn queue_completed(
        &self,
        client: &impl GenericClient,
        summaries: &[CompletedSummary],
        now: DateTime<Utc>,
    ) -> Result<Vec<i64>> {
        let mut queued = Vec::new();
        for s in summaries {
            let (locale, tz) = self.locale_and_zone(&s.branch);
            let data = summary::completed_data(s, tz, locale);
            let mail = Mail {
                kind: MailKind::CompletedSummary,
                dedupe_key: Some(format!("completed:{}:{}", s.run_id, s.branch.branch_id)),
                branch_id: Some(s.branch.branch_id),
                run_id: Some(s.run_id),
                rendered: self.templates.render("completed", locale.as_str(), &data)?,
                locale,
                recipients: s.branch.recipients.clone(),
            };
            if let Some(id) = self.queue(client, &mail, now).await? {
                queued.push(id);
            }
        }
        Ok(queued)
    }

    /// Renders the pending summary of one branch.
    pub fn pending_mail(&self, s: &PendingSummary, dedupe_key: Option<String>) -> Result<Mail> {
        let (locale, tz) = self.locale_and_zone(&s.branch);
        let data = summary::pending_data(s, tz, locale);
        Ok(Mail {
            kind: MailKind::PendingSummary,
            dedupe_key,
            branch_id: Some(s.branch.branch_id),
            run_id: None,
            rendered: self.templates.render("pending", locale.as_str(), &data)?,
            locale,
            recipients: s.branch.recipients.clone(),
        })
    }

    /// Queues a rendered mail in the caller's transaction; `None` when a
    /// mail with the same dedupe key exists already.
    pub async fn queue(
        &self,
        client: &impl GenericClient,
        mail: &Mail,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>> {
        outbox::enqueue(client, mail, now, &self.domain).await
    }
}
