//! retentiond enforces GDPR retention periods on a restaurant guest database
//! in PostgreSQL.
//!
//! - [`settings`]: the typed, validated settings (file + environment).
//! - [`db`]: the connection pool and the embedded migrations (`sql/migrations`).
//! - [`retention`]: policies, branch settings, classification (one SQL view),
//!   the pending report and the action protocol.
//! - [`run`]: the anonymization run (batches, locks, guard) and its schedule.
//! - [`gdpr`]: exports and four-eyes erasure requests.
//! - [`cli`]: the commands; `main.rs` only parses and dispatches.
#![forbid(unsafe_code)]

pub mod cli;
pub mod clock;
pub mod daemon;
pub mod db;
pub mod error;
pub mod gdpr;
pub mod notify;
pub mod retention;
pub mod run;
pub mod sd_notify;
pub mod settings;
pub mod telemetry;

pub use error::{Error, Result};
