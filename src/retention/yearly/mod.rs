//! The yearly report for the data protection officer: what the retention
//! did in one calendar year, every figure read from the action protocol
//! (`sql/queries/yearly_*.sql`), the periods in force from
//! `retention.effective_policies`, and the verdict of [`seals::verify`].
//! Months and the year are those of `schedule.time_zone`, one calendar for
//! every branch, so that the months add up; the nights are each branch's
//! own local dates, as the runs record them. It names no guest: counts,
//! request ids, times and the logins of the people who acted.

mod erasures;
pub mod html;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use serde_json::Value;

use super::context::Context;
use super::{night, policy, seals};
use crate::db::yearly::{self, Span};
use crate::db::{self, GenericClient};
use crate::error::{Error, Result};
use crate::model::{Action, GuestType};

pub use erasures::{ErasureRequest, Erasures};

/// The actions counted per month.
pub const MONTHLY: [Action; 3] = [
    Action::GuestAnonymized,
    Action::FiscalDataErased,
    Action::NewsletterUnsubscribed,
];

/// The report's figures; `--format json` prints exactly this.
#[derive(Debug, Serialize)]
pub struct YearlyReport {
    /// The calendar year.
    pub year: i32,
    /// Only this branch (none: every branch).
    pub branch_id: Option<i64>,
    /// The zone of the months (`schedule.time_zone`).
    pub time_zone: String,
    /// First instant of the year in that zone.
    pub from: DateTime<Utc>,
    /// First instant of the next year.
    pub until: DateTime<Utc>,
    /// When the report was made.
    pub generated_at: DateTime<Utc>,
    /// The periods in force now, per branch and type, with their source.
    pub periods: Vec<policy::EffectivePolicy>,
    /// Protocol rows per month (1–12), action and guest type.
    pub months: Vec<Month>,
    /// The same for the whole year.
    pub totals: BTreeMap<Action, BTreeMap<String, i64>>,
    /// Every run that ended in the year: the line of the nights.
    pub runs: Vec<Run>,
    /// Nights a branch missed.
    pub missed_nights: Vec<night::MissedNight>,
    /// Erasure requests made in the year, against the one-month deadline.
    pub erasures: Erasures,
    /// Exports handed out.
    pub exports: Vec<Change>,
    /// Periods set or removed, branch settings changed, columns decided.
    pub changes: Vec<Change>,
    /// Legal holds placed and released, pauses begun and ended.
    pub holds_and_pauses: Vec<Change>,
    /// Restores the ledger found and the approved erasures replayed after
    /// them (database-wide: in the report of all branches).
    pub restores_and_replays: Vec<Change>,
    /// Whether `protocol verify` holds now, and the newest seal.
    pub seal: seals::Verdict,
}

/// One month's protocol rows.
#[derive(Debug, Serialize)]
pub struct Month {
    /// 1 to 12.
    pub month: u32,
    /// Action → guest type → rows.
    pub counts: BTreeMap<Action, BTreeMap<String, i64>>,
}

impl Month {
    /// The rows of `action` this month, all types.
    pub fn total(&self, action: Action) -> i64 {
        self.counts.get(&action).map_or(0, |t| t.values().sum())
    }
}

/// A run as its `run_started` and `run_finished` rows tell it.
#[derive(Debug, Serialize)]
pub struct Run {
    /// Run id.
    pub run_id: i64,
    /// scheduled or manual.
    pub kind: Option<String>,
    /// The branch (none: a manual run over several).
    pub branch_id: Option<i64>,
    /// The branch's local night of a scheduled run; else the date the run
    /// ended in the report's zone.
    pub night: NaiveDate,
    /// When it began and ended.
    pub started_at: Option<DateTime<Utc>>,
    /// When it ended.
    pub finished_at: DateTime<Utc>,
    /// How it ended.
    pub status: Option<String>,
    /// Guests it anonymized.
    pub anonymized: i64,
    /// Guests still overdue when it ended (`remaining`).
    pub remaining: i64,
}

/// A protocol row about people's work: an export, a period or settings
/// change, with who did it.
#[derive(Debug, Serialize)]
pub struct Change {
    /// Protocol row.
    pub id: i64,
    /// When.
    pub at: DateTime<Utc>,
    /// What.
    pub action: Action,
    /// The `--actor` label.
    pub actor: String,
    /// The database login (rows written before logins were recorded have none).
    pub login: Option<String>,
    /// Branch.
    pub branch_id: Option<i64>,
    /// Guest type of a period change.
    pub guest_type: Option<GuestType>,
    /// What changed (old and new values; addresses masked); for an export,
    /// rows per file. Never a guest's data.
    pub details: Value,
}

/// The span of `year` in `tz`.
fn span_of(year: i32, tz: Tz, branch_id: Option<i64>) -> Result<Span> {
    let start = |y: i32| {
        NaiveDate::from_ymd_opt(y, 1, 1)
            .and_then(|d| {
                tz.from_local_datetime(&d.and_time(Default::default()))
                    .earliest()
            })
            .map(|t| t.with_timezone(&Utc))
            .ok_or_else(|| Error::Invalid(format!("the year {y} cannot be reported")))
    };
    Ok(Span {
        from: start(year)?,
        until: start(year + 1)?,
        time_zone: tz.name().to_string(),
        branch_id,
    })
}

/// Builds the report of `year` (one branch or all) at the context's now.
#[tracing::instrument(skip_all, err, fields(report.year = year, branch.id = branch_id))]
pub async fn build(cx: &Context, year: i32, branch_id: Option<i64>) -> Result<YearlyReport> {
    if !(2000..=9999).contains(&year) {
        return Err(Error::Invalid(format!(
            "--year {year} is out of range: give a calendar year such as 2026"
        )));
    }
    let tz = cx.settings.schedule.time_zone;
    let span = span_of(year, tz, branch_id)?;
    let now = cx.now();
    let mut client = cx.client().await?;
    let tx = db::snapshot(&mut client).await?;
    let periods = policy::effective(&tx, branch_id).await?;
    let (months, totals) = months(&tx, &span).await?;
    let runs = runs(&tx, &span, tz).await?;
    let missed_nights = missed_nights(&tx, cx, &span, year, now).await?;
    let answer_within = cx.settings.gdpr.answer_within;
    let erasures = erasures::read(&tx, &span, tz, answer_within, now).await?;
    let exports = changes(&tx, &span, &[Action::ExportCreated]).await?;
    let changes = changes(
        &tx,
        &span,
        &[
            Action::PolicyChanged,
            Action::SettingsChanged,
            Action::ColumnDecided,
        ],
    )
    .await?;
    let holds_and_pauses = self::changes(
        &tx,
        &span,
        &[
            Action::HoldPlaced,
            Action::HoldReleased,
            Action::Paused,
            Action::Resumed,
            Action::PauseEnded,
        ],
    )
    .await?;
    let restores_and_replays = self::changes(
        &tx,
        &span,
        &[Action::RestoreDetected, Action::ErasureReplayed],
    )
    .await?;
    tx.commit().await?;
    let seal = seals::verify(&mut client, None, &seals::Witnessed::new()).await?;
    Ok(YearlyReport {
        year,
        branch_id,
        time_zone: span.time_zone.clone(),
        from: span.from,
        until: span.until,
        generated_at: now,
        periods,
        months,
        totals,
        runs,
        missed_nights,
        erasures,
        exports,
        changes,
        holds_and_pauses,
        restores_and_replays,
        seal,
    })
}

type Counts = BTreeMap<Action, BTreeMap<String, i64>>;

async fn months(client: &impl GenericClient, span: &Span) -> Result<(Vec<Month>, Counts)> {
    let mut months: Vec<Month> = (1..=12)
        .map(|month| Month {
            month,
            counts: BTreeMap::new(),
        })
        .collect();
    let mut totals = Counts::new();
    for c in yearly::actions_per_month(client, span).await? {
        let guest_type = c
            .guest_type
            .map_or("unknown", GuestType::as_str)
            .to_string();
        if let Some(m) = months.get_mut(c.month as usize - 1) {
            *m.counts
                .entry(c.action)
                .or_default()
                .entry(guest_type.clone())
                .or_default() += c.rows;
        }
        *totals
            .entry(c.action)
            .or_default()
            .entry(guest_type)
            .or_default() += c.rows;
    }
    Ok((months, totals))
}

async fn runs(client: &impl GenericClient, span: &Span, tz: Tz) -> Result<Vec<Run>> {
    Ok(yearly::runs(client, span)
        .await?
        .into_iter()
        .map(|r| Run {
            run_id: r.run_id,
            night: r
                .night
                .unwrap_or_else(|| r.finished_at.with_timezone(&tz).date_naive()),
            kind: r.kind,
            branch_id: r.branch_id,
            started_at: r.started_at,
            finished_at: r.finished_at,
            status: r.status,
            anonymized: r.anonymized,
            remaining: r.remaining,
        })
        .collect())
}

/// The nights each branch missed in the year ([`night::missed_between`]),
/// from the scheduled runs and the switches of automatic deletion on
/// record. Before its first recorded switch a branch with scheduled runs
/// counts as switched on.
async fn missed_nights(
    client: &impl GenericClient,
    cx: &Context,
    span: &Span,
    year: i32,
    now: DateTime<Utc>,
) -> Result<Vec<night::MissedNight>> {
    let mut run: BTreeMap<i64, BTreeSet<NaiveDate>> = BTreeMap::new();
    for (branch, date) in yearly::scheduled_nights(client, span.branch_id).await? {
        run.entry(branch).or_default().insert(date);
    }
    let switches = yearly::auto_delete_changes(client, span.branch_id).await?;
    let invalid = db::branches::invalid_time_zones(client).await?;
    let days = (
        NaiveDate::from_ymd_opt(year, 1, 1).unwrap_or_default(),
        NaiveDate::from_ymd_opt(year, 12, 31).unwrap_or_default(),
    );
    let mut missed = Vec::new();
    for b in db::branches::list_settings(client, span.branch_id).await? {
        let Some(nights) = run.get(&b.branch_id) else {
            continue;
        };
        if invalid.iter().any(|(id, _)| *id == b.branch_id) {
            continue;
        }
        let tz = crate::clock::branch_time_zone(
            b.branch_id,
            &b.time_zone,
            cx.settings.schedule.time_zone,
        );
        let on_at = |t: DateTime<Utc>| {
            switches
                .iter()
                .rfind(|(branch, at, _)| *branch == b.branch_id && *at <= t)
                .is_none_or(|(_, _, on)| *on)
        };
        for date in night::missed_between(&cx.settings, tz, nights, on_at, days, now) {
            missed.push(night::MissedNight {
                branch_id: b.branch_id,
                night: date,
            });
        }
    }
    Ok(missed)
}

async fn changes(
    client: &impl GenericClient,
    span: &Span,
    actions: &[Action],
) -> Result<Vec<Change>> {
    Ok(yearly::records(client, span, actions)
        .await?
        .into_iter()
        .map(|r| Change {
            id: r.id,
            at: r.at,
            action: r.action,
            actor: r.actor,
            login: r.login,
            branch_id: r.branch_id,
            guest_type: r.guest_type,
            details: r.details,
        })
        .collect())
}

/// Writes the report as HTML in `locale` to `out` as a private file (mode
/// 0600, put in place only when complete, never over an existing file
/// without `force`).
#[tracing::instrument(skip_all, err, fields(report.year = report.year))]
pub fn write_html(
    report: &YearlyReport,
    locale: crate::model::Locale,
    out: &std::path::Path,
    force: bool,
) -> Result<()> {
    use std::io::Write;
    let page = html::render(report, locale)?;
    let (private, mut file) = super::private_file::PrivateFile::create(out, force)?;
    let written = file
        .write_all(page.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| Error::io(format!("cannot write {}", private.tmp.display()), e));
    match written {
        Ok(()) => private.hand_out(),
        Err(e) => {
            private.discard();
            Err(e)
        }
    }
}
