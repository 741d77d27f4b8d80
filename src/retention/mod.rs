//! The retention rules: policies, branch settings, classification, the
//! pending report, the anonymization run and the action protocol.

pub mod branch_settings;
pub mod classify;
pub mod pending;
pub mod policy;
pub mod protocol;

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::error::Error;

/// The five kinds of guest data, each with its own retention period.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GuestType {
    /// Active newsletter subscription, no sale, not verified.
    NewsletterSubscriber,
    /// No newsletter, no sale, not verified.
    GuestWithoutSale,
    /// At least one sale, no company, not verified.
    Guest,
    /// Marked verified.
    RegularGuest,
    /// At least one sale and a company entered.
    CompanyGuest,
}

impl GuestType {
    /// All types, in the order reports list them.
    pub const ALL: [GuestType; 5] = [
        GuestType::NewsletterSubscriber,
        GuestType::GuestWithoutSale,
        GuestType::Guest,
        GuestType::RegularGuest,
        GuestType::CompanyGuest,
    ];

    /// The name used in SQL, the CLI and the protocol.
    pub fn as_str(self) -> &'static str {
        match self {
            GuestType::NewsletterSubscriber => "newsletter_subscriber",
            GuestType::GuestWithoutSale => "guest_without_sale",
            GuestType::Guest => "guest",
            GuestType::RegularGuest => "regular_guest",
            GuestType::CompanyGuest => "company_guest",
        }
    }
}

impl fmt::Display for GuestType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for GuestType {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        GuestType::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| {
                Error::Invalid(format!(
                    "unknown guest type {s:?}: expected one of {}",
                    GuestType::ALL.map(|t| t.as_str()).join(", ")
                ))
            })
    }
}

/// Fails with a clear message unless the branch exists.
pub async fn ensure_branch_exists(
    client: &impl deadpool_postgres::GenericClient,
    branch_id: i64,
) -> Result<String, Error> {
    let row = client
        .query_opt(
            "SELECT name FROM public.branches WHERE id = $1",
            &[&branch_id],
        )
        .await?;
    match row {
        Some(r) => Ok(r.get(0)),
        None => Err(Error::Invalid(format!(
            "branch {branch_id} does not exist: `retentiond policy show` lists the branches"
        ))),
    }
}

/// Fails with a clear message unless the guest exists.
pub async fn ensure_guest_exists(
    client: &impl deadpool_postgres::GenericClient,
    guest_id: i64,
) -> Result<(), Error> {
    let exists: bool = client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM public.guests WHERE id = $1)",
            &[&guest_id],
        )
        .await?
        .get(0);
    if exists {
        Ok(())
    } else {
        Err(Error::Invalid(format!("guest {guest_id} does not exist")))
    }
}
