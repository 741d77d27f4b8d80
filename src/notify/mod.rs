//! Notification mails: summaries rendered from templates into a
//! transactional outbox ([`outbox`]), delivered by a sender with retries
//! ([`sender`]) through lettre ([`transport`]). Mails hold counts only:
//! no names, no guest addresses, no guest ids.

pub mod outbox;
pub mod sender;
pub mod templates;
pub mod transport;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use serde_json::{json, Value};

use crate::clock::Clock;
use crate::db::DbPool;
use crate::error::Result;
use crate::gdpr::erasure;
use crate::retention::branch_settings::{self, BranchSettings};
use crate::retention::pending::{self, BranchPending};
use crate::retention::GuestType;
use crate::run::{schedule, Held, RunReport, RunStatus};
use crate::settings::Settings;
pub use outbox::Mail;
pub use templates::Templates;

/// What the run engine and the daemon need to queue mails.
pub struct Notifier {
    /// Compiled templates.
    pub templates: Arc<Templates>,
    /// Language for branches without their own.
    pub default_locale: String,
    /// Domain of `mail.from`, for Message-IDs.
    pub domain: String,
    /// For branches whose time zone is not an IANA name.
    pub time_zone: chrono_tz::Tz,
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
            default_locale: settings.mail.locale.clone(),
            domain: settings
                .mail
                .from
                .rsplit_once('@')
                .map(|(_, d)| d.trim_end_matches('>').to_string())
                .unwrap_or_else(|| "localhost".to_string()),
            time_zone: settings.schedule.time_zone,
        })
    }

    fn locale(&self, branch: &BranchSettings) -> String {
        branch
            .locale
            .clone()
            .unwrap_or_else(|| self.default_locale.clone())
    }

    /// Queues the completed summary of `report` for every branch of the run
    /// that changed something, was held or saw an error, whose completed
    /// toggle is on and that has addresses, in the caller's transaction.
    pub async fn queue_completed(
        &self,
        client: &impl GenericClient,
        report: &RunReport,
        now: DateTime<Utc>,
    ) -> Result<Vec<i64>> {
        let mut queued = Vec::new();
        for branch in branch_settings::list(client, None).await? {
            if !report.branches.contains(&branch.branch_id) {
                continue;
            }
            let counts = report.branch_counts.get(&branch.branch_id);
            let held = report.held.iter().find(|h| h.branch_id == branch.branch_id);
            let changed = counts.is_some_and(|c| c.values().any(|t| t.values().any(|n| *n > 0)));
            if !(changed || held.is_some() || report.error.is_some()) {
                continue;
            }
            if !branch.notify_completed || branch.notify_addresses.is_empty() {
                tracing::debug!(branch_id = branch.branch_id, "no completed summary wanted");
                continue;
            }
            let locale = self.locale(&branch);
            let tz =
                schedule::branch_time_zone(branch.branch_id, &branch.time_zone, self.time_zone);
            let data = completed_data(report, &branch, tz, counts, held, &locale);
            let rendered = self.templates.render("completed", &locale, &data)?;
            let mail = Mail {
                kind: "completed_summary",
                dedupe_key: Some(format!("completed:{}:{}", report.run_id, branch.branch_id)),
                branch_id: Some(branch.branch_id),
                run_id: Some(report.run_id),
                locale,
                recipients: branch.notify_addresses.clone(),
                rendered,
            };
            if let Some(id) = outbox::enqueue(client, &mail, now, &self.domain).await? {
                queued.push(id);
            }
        }
        Ok(queued)
    }

    /// Renders the pending summary of one branch.
    pub fn pending_mail(
        &self,
        branch: &BranchSettings,
        pending: &BranchPending,
        at: DateTime<Utc>,
        window_days: i64,
        dedupe_key: Option<String>,
        overdue_requests: &[(i64, i64)],
    ) -> Result<Mail> {
        let locale = self.locale(branch);
        let tz = schedule::branch_time_zone(branch.branch_id, &branch.time_zone, self.time_zone);
        let mut data = pending_data(branch, tz, pending, at, window_days, &locale);
        data["erasure_overdue"] = json!(overdue_requests
            .iter()
            .map(|(id, days)| json!({"request_id": id, "days_open": days}))
            .collect::<Vec<_>>());
        Ok(Mail {
            kind: "pending_summary",
            dedupe_key,
            branch_id: Some(branch.branch_id),
            run_id: None,
            rendered: self.templates.render("pending", &locale, &data)?,
            locale,
            recipients: branch.notify_addresses.clone(),
        })
    }
}

/// The pending summaries that are due: for each branch with addresses and
/// its pending toggle on, once per local day from `schedule.pending_at` on,
/// skipped (but recorded) when nothing is overdue or due. Returns the
/// queued outbox ids.
pub async fn pending_tick(
    pool: &DbPool,
    settings: &Settings,
    notifier: &Notifier,
    clock: &dyn Clock,
) -> Result<Vec<i64>> {
    let mut client = pool.get().await?;
    let mut queued = Vec::new();
    for branch in branch_settings::list(&client, None).await? {
        if !branch.notify_pending || branch.notify_addresses.is_empty() {
            continue;
        }
        let tz = schedule::branch_time_zone(
            branch.branch_id,
            &branch.time_zone,
            settings.schedule.time_zone,
        );
        let now = clock.now();
        let (day, _) = schedule::latest_due_night(now, settings.schedule.pending_at, tz);
        let taken: bool = client
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM retention.pending_snapshots
                                WHERE branch_id = $1 AND local_date = $2)",
                &[&branch.branch_id, &day],
            )
            .await?
            .get(0);
        if taken {
            continue;
        }
        let report = pending::report(
            &client,
            now,
            now + chrono::Duration::days(WINDOW_DAYS),
            Some(branch.branch_id),
        )
        .await?;
        let Some(p) = report.branches.first() else {
            continue;
        };
        let requests =
            erasure::overdue(&client, branch.branch_id, now, settings.gdpr.answer_within).await?;
        let overdue = p.total("anonymize", "overdue") + p.total("erase_fiscal", "overdue");
        let due = p.total("anonymize", "due_soon") + p.total("erase_fiscal", "due_soon");
        let tx = client.transaction().await?;
        let claimed = tx
            .execute(
                "INSERT INTO retention.pending_snapshots
                     (branch_id, local_date, taken_at, overdue, due_soon)
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                &[&branch.branch_id, &day, &now, &overdue, &due],
            )
            .await?;
        if claimed == 1 && (p.has_due() || !requests.is_empty()) {
            let mail = notifier.pending_mail(
                &branch,
                p,
                now,
                WINDOW_DAYS,
                Some(format!("pending:{}:{day}", branch.branch_id)),
                &requests,
            )?;
            if let Some(id) = outbox::enqueue(&tx, &mail, now, &notifier.domain).await? {
                tx.execute(
                    "UPDATE retention.pending_snapshots SET outbox_id = $3
                     WHERE branch_id = $1 AND local_date = $2",
                    &[&branch.branch_id, &day, &id],
                )
                .await?;
                queued.push(id);
            }
        } else if claimed == 1 {
            tracing::info!(branch_id = branch.branch_id, %day, "nothing overdue or due: no pending summary");
        }
        tx.commit().await?;
    }
    Ok(queued)
}

/// The "due soon" window of the pending summary, in days.
pub const WINDOW_DAYS: i64 = 14;

fn type_label(t: &str, locale: &str) -> &'static str {
    match (t, locale) {
        ("newsletter_subscriber", "en") => "Newsletter subscriber",
        ("guest_without_sale", "en") => "Guest without sale",
        ("guest", "en") => "Guest",
        ("regular_guest", "en") => "Regular guest",
        ("company_guest", "en") => "Company guest",
        ("newsletter_subscriber", _) => "Newsletter-Abonnent",
        ("guest_without_sale", _) => "Gast ohne Verkauf",
        ("guest", _) => "Gast",
        ("regular_guest", _) => "Stammgast",
        ("company_guest", _) => "Firmengast",
        _ => "?",
    }
}

fn reason_label(reason: &str, locale: &str) -> String {
    match (reason, locale) {
        ("unpaid_invoice", "en") => "unpaid invoice".into(),
        ("unpaid_invoice", _) => "unbezahlte Rechnung".into(),
        (other, _) => other.to_string(),
    }
}

fn status_label(status: RunStatus, locale: &str) -> &'static str {
    match (status, locale) {
        (RunStatus::Completed, "en") => "completed",
        (RunStatus::Partial, "en") => "partly done",
        (RunStatus::Held, "en") => "held",
        (RunStatus::Interrupted, "en") => "interrupted",
        (RunStatus::Failed, "en") => "failed",
        (RunStatus::Completed, _) => "abgeschlossen",
        (RunStatus::Partial, _) => "teilweise erledigt",
        (RunStatus::Held, _) => "angehalten",
        (RunStatus::Interrupted, _) => "unterbrochen",
        (RunStatus::Failed, _) => "fehlgeschlagen",
    }
}

fn date_label(at: DateTime<Utc>, tz: chrono_tz::Tz, locale: &str) -> String {
    let local = at.with_timezone(&tz);
    match locale {
        "en" => local.format("%Y-%m-%d %H:%M %Z").to_string(),
        _ => local.format("%d.%m.%Y %H:%M %Z").to_string(),
    }
}

/// Template data of the pending summary: counts only.
pub fn pending_data(
    branch: &BranchSettings,
    tz: chrono_tz::Tz,
    p: &BranchPending,
    at: DateTime<Utc>,
    window_days: i64,
    locale: &str,
) -> Value {
    let types: Vec<Value> = GuestType::ALL
        .iter()
        .filter_map(|t| {
            let count = |status: &str| {
                p.counts
                    .iter()
                    .filter(|c| c.action == "anonymize" && c.guest_type == *t && c.status == status)
                    .map(|c| c.guests)
                    .sum::<i64>()
            };
            let (overdue, due_soon) = (count("overdue"), count("due_soon"));
            (overdue + due_soon > 0).then(|| {
                json!({"type": t.as_str(), "label": type_label(t.as_str(), locale),
                       "overdue": overdue, "due_soon": due_soon})
            })
        })
        .collect();
    let mut blocked: BTreeMap<String, i64> = BTreeMap::new();
    for c in p.counts.iter().filter(|c| c.status == "blocked") {
        *blocked
            .entry(c.reason.clone().unwrap_or_else(|| "unknown".into()))
            .or_default() += c.guests;
    }
    let blocked: Vec<Value> = blocked
        .into_iter()
        .map(|(reason, guests)| json!({"reason": reason_label(&reason, locale), "guests": guests}))
        .collect();
    let not_configured: Vec<Value> = p
        .not_configured_types
        .iter()
        .map(|t| json!({"type": t.as_str(), "label": type_label(t.as_str(), locale)}))
        .collect();
    // one bar per local day of the window, empty days included
    let first = at.with_timezone(&tz).date_naive();
    let mut per_day: BTreeMap<chrono::NaiveDate, i64> = BTreeMap::new();
    for d in &p.days {
        *per_day.entry(d.day).or_default() += d.guests;
    }
    let max = per_day.values().copied().max().unwrap_or(0).max(1);
    let days: Vec<Value> = (0..window_days)
        .map(|i| {
            let day = first + chrono::Duration::days(i);
            let count = per_day.get(&day).copied().unwrap_or(0);
            let width = if count == 0 {
                0
            } else {
                (count * 100 / max).max(2)
            };
            let label = match locale {
                "en" => day.format("%a %m-%d").to_string(),
                _ => day.format("%d.%m.").to_string(),
            };
            json!({"date": label, "count": count, "width": width,
                   "bar": "#".repeat(((count * 30 + max - 1) / max) as usize)})
        })
        .collect();
    let fiscal_overdue = p.total("erase_fiscal", "overdue");
    let fiscal_due = p.total("erase_fiscal", "due_soon");
    json!({
        "branch": {"id": branch.branch_id, "name": branch.branch_name},
        "date": date_label(at, tz, locale),
        "window_days": window_days,
        "auto_delete": p.auto_delete,
        "manual_run_command": format!("retentiond run --branch {}", branch.branch_id),
        "types": types,
        "overdue_total": p.total("anonymize", "overdue"),
        "due_total": p.total("anonymize", "due_soon"),
        "fiscal": {"overdue": fiscal_overdue, "due_soon": fiscal_due},
        "fiscal_total": fiscal_overdue + fiscal_due,
        "unsubscriptions": p.newsletter_unsubscriptions,
        "blocked": blocked,
        "not_configured": not_configured,
        "days": days,
    })
}

/// Template data of the completed summary of one branch: counts only.
pub fn completed_data(
    report: &RunReport,
    branch: &BranchSettings,
    tz: chrono_tz::Tz,
    counts: Option<&crate::run::Counts>,
    held: Option<&Held>,
    locale: &str,
) -> Value {
    let get = |action: &str, t: &str| -> i64 {
        counts
            .and_then(|c| c.get(action))
            .and_then(|m| m.get(t))
            .copied()
            .unwrap_or(0)
    };
    let rows: Vec<Value> = GuestType::ALL
        .iter()
        .map(|t| t.as_str())
        .filter(|t| {
            get("guest_anonymized", t)
                + get("newsletter_unsubscribed", t)
                + get("fiscal_data_erased", t)
                > 0
        })
        .map(|t| {
            json!({"label": type_label(t, locale),
                   "anonymized": get("guest_anonymized", t),
                   "unsubscribed": get("newsletter_unsubscribed", t),
                   "fiscal_erased": get("fiscal_data_erased", t)})
        })
        .collect();
    let total = |action: &str| -> i64 {
        counts
            .and_then(|c| c.get(action))
            .map(|m| m.values().sum())
            .unwrap_or(0)
    };
    let started = report.cutoff;
    let kind = match (report.kind, locale) {
        (crate::run::RunKind::Scheduled, "en") => "nightly run",
        (crate::run::RunKind::Scheduled, _) => "nächtlicher Lauf",
        (crate::run::RunKind::Manual, "en") => "manual run",
        (crate::run::RunKind::Manual, _) => "manueller Lauf",
    };
    json!({
        "branch": {"id": branch.branch_id, "name": branch.branch_name},
        "run_id": report.run_id,
        "status": status_label(report.status, locale),
        "kind": kind,
        "started": date_label(started, tz, locale),
        "duration": humantime::format_duration(std::time::Duration::from_secs(
            report.duration_ms.div_ceil(1000))).to_string(),
        "rows": rows,
        "anonymized_total": total("guest_anonymized"),
        "unsubscribed_total": total("newsletter_unsubscribed"),
        "fiscal_total": total("fiscal_data_erased"),
        "remaining": report.remaining,
        "held": held.map(|h| json!({
            "candidates": h.candidates,
            "not_anonymized": h.not_anonymized,
            "guard_percent": (h.guard * 100.0).round() as i64,
            "confirm": h.confirm,
        })),
        "error": report.error.as_deref().map(outbox::mask_addresses),
    })
}
