//! retentiond enforces GDPR retention periods on a restaurant guest database
//! in PostgreSQL.
//!
//! Arrows go one way: the edges ([`cli`], [`schedule`]) call the core
//! ([`retention`]), which calls [`db`]; the core hands [`notify`] plain
//! summaries to queue in its own transaction, and `notify` imports no core
//! module.
//!
//! - [`cli`]: the commands; `main.rs` only parses and dispatches.
//! - [`schedule`]: *when* — the serve loop, the tick, reload, the metrics
//!   endpoint.
//! - [`retention`]: *what* — one [`retention::Context`]; policies,
//!   classification, the pending report and its daily summary, the nights,
//!   the run (plan, batches, finish), erasure, export, the protocol, the
//!   schema, health. The edges reach [`db`] only through it.
//! - [`notify`]: outbox, templates and transports, fed plain data.
//! - [`db`]: the pool, the migrations and one typed module per table family;
//!   the only place SQL is loaded.
//! - [`model`]: the shared names (guest types, actions, statuses).
//! - [`settings`], [`clock`], [`shutdown`], [`telemetry`], [`sd_notify`],
//!   [`address`], [`error`]: infrastructure that knows no rule.
#![forbid(unsafe_code)]

pub mod address;
pub mod cli;
pub mod clock;
pub mod db;
pub mod error;
pub mod metrics;
pub mod model;
pub mod notify;
pub mod retention;
pub mod schedule;
pub mod sd_notify;
pub mod settings;
pub mod shutdown;
pub mod telemetry;

pub use error::{Error, Result};
