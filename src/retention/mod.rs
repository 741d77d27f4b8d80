//! The core: the only code that decides *what*. Policies and branch
//! settings, one guest's classification, the pending report and its daily
//! summary, the anonymization run (plan, batches, finish) and the nights it
//! runs in, erasure requests, exports, the protocol and its seals, the
//! schema, and the health summary. It knows no command line: hints for
//! people are the edges' to render from the data it returns. The edges
//! reach the database only through it, with one [`Context`].

pub mod branch_settings;
pub mod classify;
pub mod columns;
pub mod context;
pub mod demo;
pub mod erasure;
pub mod export;
pub mod health;
pub mod holds;
pub mod ledger;
pub mod night;
pub mod pauses;
pub mod pending;
pub mod policy;
pub mod private_file;
pub mod protocol;
pub mod run;
pub mod schema;
pub mod seals;
pub mod summary;
pub mod whatif;
pub mod yearly;

pub use crate::model::GuestType;
pub use context::{Context, Pool};

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
