//! The erasure requests of the year against the GDPR's deadline: an answer
//! within one month of the request (Art. 12(3)), counted in calendar days
//! of the report's time zone; `gdpr.answer_within` is the house's own,
//! shorter reminder (the pending summary lists requests open longer).

use chrono::{DateTime, Months, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use crate::db::yearly::{self, Span};
use crate::db::GenericClient;
use crate::error::Result;
use crate::model::Action;

/// The requests of the year and how they were answered.
#[derive(Debug, Serialize)]
pub struct Erasures {
    /// Requests made in the year.
    pub requested: usize,
    /// Approved or rejected within a month.
    pub answered_in_time: usize,
    /// Approved or rejected after more than a month.
    pub answered_late: usize,
    /// Withdrawn by their requester (no decision).
    pub withdrawn: usize,
    /// Still open now.
    pub open: usize,
    /// Of those, open longer than a month.
    pub open_overdue: usize,
    /// `gdpr.answer_within` in days.
    pub answer_within_days: i64,
    /// Each request.
    pub requests: Vec<ErasureRequest>,
}

/// One request: ids, times, who, and the days to its answer.
#[derive(Debug, Serialize)]
pub struct ErasureRequest {
    /// Request id.
    pub request_id: Option<i64>,
    /// Branch.
    pub branch_id: Option<i64>,
    /// When it was recorded.
    pub requested_at: DateTime<Utc>,
    /// Its `--actor` and login.
    pub requested_by: String,
    /// The requesting login.
    pub requested_login: Option<String>,
    /// One month after the request.
    pub deadline: DateTime<Utc>,
    /// approved, rejected or withdrawn; none while open.
    pub outcome: Option<&'static str>,
    /// When.
    pub decided_at: Option<DateTime<Utc>>,
    /// Who decided (`--actor`).
    pub decided_by: Option<String>,
    /// With which login.
    pub decided_login: Option<String>,
    /// Calendar days from the request to its answer, or to now while open.
    pub days: i64,
    /// Answered (or still open) within the month.
    pub in_time: bool,
}

/// Reads the requests of the span and measures them at `now`.
pub(super) async fn read(
    client: &impl GenericClient,
    span: &Span,
    tz: Tz,
    answer_within: std::time::Duration,
    now: DateTime<Utc>,
) -> Result<Erasures> {
    let mut e = Erasures {
        requested: 0,
        answered_in_time: 0,
        answered_late: 0,
        withdrawn: 0,
        open: 0,
        open_overdue: 0,
        answer_within_days: (answer_within.as_secs() / 86_400) as i64,
        requests: Vec::new(),
    };
    for r in yearly::erasures(client, span).await? {
        let local = r.requested_at.with_timezone(&tz);
        let deadline = local
            .checked_add_months(Months::new(1))
            .map_or(r.requested_at, |d| d.with_timezone(&Utc));
        let outcome = r.decision.map(|a| match a {
            Action::ErasureApproved => "approved",
            Action::ErasureRejected => "rejected",
            _ => "withdrawn",
        });
        let end = r.decided_at.unwrap_or(now);
        let days = (end.with_timezone(&tz).date_naive() - local.date_naive()).num_days();
        let in_time = end <= deadline;
        e.requested += 1;
        match outcome {
            None if in_time => e.open += 1,
            None => {
                e.open += 1;
                e.open_overdue += 1;
            }
            Some("withdrawn") => e.withdrawn += 1,
            Some(_) if in_time => e.answered_in_time += 1,
            Some(_) => e.answered_late += 1,
        }
        e.requests.push(ErasureRequest {
            request_id: r.request_id,
            branch_id: r.branch_id,
            requested_at: r.requested_at,
            requested_by: r.requested_by,
            requested_login: r.requested_login,
            deadline,
            outcome,
            decided_at: r.decided_at,
            decided_by: r.decided_by,
            decided_login: r.decided_login,
            days,
            in_time,
        });
    }
    Ok(e)
}
