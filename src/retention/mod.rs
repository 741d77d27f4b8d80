//! The core: the only code that decides *what*. Policies and branch
//! settings, one guest's classification, the pending report, the
//! anonymization run (plan, batches, finish), erasure requests, exports and
//! the health summary. It knows no command line: hints for people are the
//! edges' to render from the data it returns.

pub mod branch_settings;
pub mod classify;
pub mod erasure;
pub mod export;
pub mod health;
pub mod pending;
pub mod policy;
pub mod run;
pub mod seals;

pub use crate::model::GuestType;

use crate::db::{self, GenericClient};
use crate::error::{Error, Refusal, Result};

/// Fails with [`Refusal::UnknownBranch`] unless the branch exists; returns its name.
pub async fn ensure_branch_exists(client: &impl GenericClient, branch_id: i64) -> Result<String> {
    db::branches::name(client, branch_id)
        .await?
        .ok_or(Error::Refused(Refusal::UnknownBranch(branch_id)))
}

/// Fails with [`Refusal::UnknownGuest`] unless the guest exists.
pub async fn ensure_guest_exists(client: &impl GenericClient, guest_id: i64) -> Result<()> {
    if db::guests::exists(client, guest_id).await? {
        Ok(())
    } else {
        Err(Error::Refused(Refusal::UnknownGuest(guest_id)))
    }
}
