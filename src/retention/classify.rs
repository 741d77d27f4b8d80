//! One guest's classification, read from `retention.guest_classification`
//! (the single definition of the rules) by index, with the facts behind each
//! value, and where the guest stands at an instant.

use std::ops::Deref;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::GuestType;
use crate::db::{self, GenericClient};
use crate::error::{Error, Refusal, Result};

pub use crate::db::guests::{Facts, GuestRecord};

/// Everything the rules say about one guest at an instant: the record
/// (type, last activity, deadlines, blocker, facts) and its status.
#[derive(Debug, Clone)]
pub struct Classification {
    /// What the classification view says.
    pub record: GuestRecord,
    /// Where it stands at the evaluation instant.
    pub status: Status,
}

impl Deref for Classification {
    type Target = GuestRecord;

    fn deref(&self) -> &GuestRecord {
        &self.record
    }
}

/// Where a guest stands at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Personal period not configured: never anonymized.
    NotConfigured,
    /// Personal deadline has not passed.
    Retained,
    /// Due, but a blocker stops it.
    Blocked,
    /// Personal deadline has passed.
    Overdue,
    /// Anonymized; fiscal data kept until its deadline.
    FiscalRetained,
    /// Anonymized; fiscal deadline has passed.
    FiscalOverdue,
    /// Nothing left to do.
    Done,
}

impl Status {
    /// Decides the status at `at` from the deadlines.
    pub fn at(
        at: DateTime<Utc>,
        anonymized: bool,
        fiscal_pending: bool,
        personal: Option<DateTime<Utc>>,
        fiscal: Option<DateTime<Utc>>,
        blocked: bool,
    ) -> Status {
        if anonymized {
            return match (fiscal_pending, fiscal) {
                (false, _) => Status::Done,
                (true, Some(d)) if d <= at && blocked => Status::Blocked,
                (true, Some(d)) if d <= at => Status::FiscalOverdue,
                (true, _) => Status::FiscalRetained,
            };
        }
        match personal {
            None => Status::NotConfigured,
            Some(d) if d > at => Status::Retained,
            Some(_) if blocked => Status::Blocked,
            Some(_) => Status::Overdue,
        }
    }
}

/// Classifies one guest as seen at `at`.
#[tracing::instrument(skip_all, fields(guest.id = guest_id))]
pub async fn classify_guest(
    client: &impl GenericClient,
    guest_id: i64,
    at: DateTime<Utc>,
) -> Result<Classification> {
    let mut record = db::guests::classify(client, guest_id)
        .await?
        .ok_or(Error::Refused(Refusal::UnknownGuest(guest_id)))?;
    if record.guest_type != GuestType::CompanyGuest {
        record.fiscal_deadline = None;
    }
    let fiscal_pending =
        record.guest_type == GuestType::CompanyGuest && record.fiscal_erased_at.is_none();
    let status = Status::at(
        at,
        record.anonymized_at.is_some(),
        fiscal_pending,
        record.personal_deadline,
        record.fiscal_deadline,
        record.blocked_reason.is_some(),
    );
    Ok(Classification { record, status })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, d, 12, 0, 0).unwrap()
    }

    #[test]
    fn deadline_at_the_instant_is_overdue() {
        assert_eq!(
            Status::at(t(10), false, false, Some(t(10)), None, false),
            Status::Overdue
        );
        assert_eq!(
            Status::at(t(9), false, false, Some(t(10)), None, false),
            Status::Retained
        );
    }

    #[test]
    fn unconfigured_period_is_never_due() {
        assert_eq!(
            Status::at(t(10), false, false, None, None, false),
            Status::NotConfigured
        );
    }

    #[test]
    fn blocker_only_matters_once_due() {
        assert_eq!(
            Status::at(t(10), false, false, Some(t(11)), None, true),
            Status::Retained
        );
        assert_eq!(
            Status::at(t(12), false, false, Some(t(11)), None, true),
            Status::Blocked
        );
    }

    #[test]
    fn anonymized_company_guest_waits_for_fiscal_deadline() {
        assert_eq!(
            Status::at(t(10), true, true, Some(t(1)), Some(t(20)), false),
            Status::FiscalRetained
        );
        assert_eq!(
            Status::at(t(21), true, true, Some(t(1)), Some(t(20)), false),
            Status::FiscalOverdue
        );
        assert_eq!(
            Status::at(t(21), true, false, Some(t(1)), Some(t(20)), false),
            Status::Done
        );
    }
}
