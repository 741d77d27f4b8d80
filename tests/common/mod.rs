//! Test support: one fresh database per test, cloned from a migrated
//! template on the server named by RETENTIOND_TEST_DATABASE_URL (started by
//! scripts/test), dropped when the test ends.
#![allow(dead_code)]

pub mod archive;
pub mod classify;
mod db;
pub mod faults;
mod fixtures;
pub mod fx;
pub mod ledger;
mod library;
pub mod mail;
mod process;
pub mod run;
pub mod seals;
pub mod security;
mod smtp;
pub mod yearly;

// Each test binary uses some of these, none uses all.
#[allow(unused_imports)]
pub use db::{connect, server_url, url_for, TestDb};
#[allow(unused_imports)]
pub use fixtures::{assert_anonymized, assert_untouched, day};
#[allow(unused_imports)]
pub use library::{context, manual, prepare, settings};
#[allow(unused_imports)]
pub use process::{expect_code, free_port, is_root, signal, stderr, stdout, terminate};
#[allow(unused_imports)]
pub use smtp::SmtpSink;

/// The class of the branch locks (the high 32 bits of
/// `retention.branch_lock_key`, "RETE"), for tests that look at `pg_locks`
/// themselves.
pub const BRANCH_LOCK_CLASS: i64 = 0x5245_5445;
