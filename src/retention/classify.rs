//! One guest's classification, read from `retention.guest_classification`
//! (the single definition of the rules), with the facts behind each value.

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use serde::Serialize;

use super::GuestType;
use crate::error::{Error, Result};

/// Everything the rules say about one guest.
#[derive(Debug, Clone, Serialize)]
pub struct Classification {
    /// Guest.
    pub guest_id: i64,
    /// Branch of the guest.
    pub branch_id: i64,
    /// Type, first match wins.
    pub guest_type: GuestType,
    /// Greatest of creation, manual edit, sale, booking and newsletter sign-up.
    pub last_activity: DateTime<Utc>,
    /// When personal data is due; `None` when the period is not configured.
    pub personal_deadline: Option<DateTime<Utc>>,
    /// When a company guest's fiscal data is due; `None` where it does not apply.
    pub fiscal_deadline: Option<DateTime<Utc>>,
    /// Why the guest may not be touched, if anything stops it.
    pub blocked_reason: Option<String>,
    /// Where it stands at the evaluation instant.
    pub status: Status,
    /// When personal data was anonymized.
    pub anonymized_at: Option<DateTime<Utc>>,
    /// When fiscal data was erased.
    pub fiscal_erased_at: Option<DateTime<Utc>>,
    /// The facts behind the values (not part of the stable JSON contract).
    #[serde(skip)]
    pub facts: Facts,
}

/// The inputs of a classification, for the table form's explanations.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// Marked verified.
    pub verified: bool,
    /// A non-blank company is entered.
    pub has_company: bool,
    /// Profile created.
    pub created_at: Option<DateTime<Utc>>,
    /// Last manual edit.
    pub profile_updated_at: Option<DateTime<Utc>>,
    /// Latest sale.
    pub last_sale_at: Option<DateTime<Utc>>,
    /// Latest booking made.
    pub last_booked_at: Option<DateTime<Utc>>,
    /// Newsletter sign-up.
    pub subscribed_at: Option<DateTime<Utc>>,
    /// Subscription still active.
    pub newsletter_active: bool,
    /// Latest moment a non-cancelled reservation is for.
    pub latest_reservation_for: Option<DateTime<Utc>>,
    /// Latest invoice.
    pub last_invoice_at: Option<DateTime<Utc>>,
    /// Unpaid invoices.
    pub unpaid_invoices: i64,
    /// Type whose period governs personal data.
    pub personal_period_type: String,
    /// That period.
    pub personal_period: Option<String>,
    /// Inherited from the head office.
    pub personal_period_inherited: bool,
    /// Company period.
    pub fiscal_period: Option<String>,
    /// Inherited from the head office.
    pub fiscal_period_inherited: bool,
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
    let row = client
        .query_opt(
            include_str!("../../sql/queries/classify_guest.sql"),
            &[&guest_id],
        )
        .await?
        .ok_or_else(|| Error::Invalid(format!("guest {guest_id} does not exist")))?;
    let guest_type: String = row.get("guest_type");
    let guest_type: GuestType = guest_type.parse()?;
    let anonymized_at: Option<DateTime<Utc>> = row.get("anonymized_at");
    let fiscal_erased_at: Option<DateTime<Utc>> = row.get("fiscal_erased_at");
    let personal_deadline = row.get("personal_deadline");
    let fiscal_deadline: Option<DateTime<Utc>> = row.get("fiscal_deadline");
    let blocked_reason: Option<String> = row.get("blocked_reason");
    let facts = Facts {
        verified: row.get("verified"),
        has_company: row.get("has_company"),
        created_at: row.get("created_at"),
        profile_updated_at: row.get("profile_updated_at"),
        last_sale_at: row.get("last_sale_at"),
        last_booked_at: row.get("last_booked_at"),
        subscribed_at: row.get("subscribed_at"),
        newsletter_active: row.get("newsletter_active"),
        latest_reservation_for: row.get("latest_reservation_for"),
        last_invoice_at: row.get("last_invoice_at"),
        unpaid_invoices: row.get("unpaid_invoices"),
        personal_period_type: row.get("personal_period_type"),
        personal_period: row.get("personal_period"),
        personal_period_inherited: row
            .get::<_, Option<bool>>("personal_period_inherited")
            .unwrap_or(false),
        fiscal_period: row.get("fiscal_period"),
        fiscal_period_inherited: row
            .get::<_, Option<bool>>("fiscal_period_inherited")
            .unwrap_or(false),
    };
    let fiscal_pending = guest_type == GuestType::CompanyGuest && fiscal_erased_at.is_none();
    let status = Status::at(
        at,
        anonymized_at.is_some(),
        fiscal_pending,
        personal_deadline,
        fiscal_deadline,
        blocked_reason.is_some(),
    );
    Ok(Classification {
        guest_id,
        branch_id: row.get("branch_id"),
        guest_type,
        last_activity: row.get("last_activity"),
        personal_deadline,
        fiscal_deadline: if guest_type == GuestType::CompanyGuest {
            fiscal_deadline
        } else {
            None
        },
        blocked_reason,
        status,
        anonymized_at,
        fiscal_erased_at,
        facts,
    })
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
