//! The settings as read, before validation: every value a string, every
//! key optional, unknown keys refused.

use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawGdpr {
    pub(super) trade_secrets: Option<String>,
    pub(super) answer_within: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawSettings {
    pub(super) database: RawDatabase,
    pub(super) log: RawLog,
    pub(super) mail: RawMail,
    pub(super) batch: RawBatch,
    pub(super) schedule: RawSchedule,
    pub(super) gdpr: RawGdpr,
    pub(super) metrics: RawMetrics,
    pub(super) ledger: RawLedger,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawLedger {
    pub(super) path: Option<String>,
    pub(super) replay: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawMetrics {
    pub(super) listen: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawSchedule {
    pub(super) nightly_at: Option<String>,
    pub(super) time_zone: Option<String>,
    pub(super) tick: Option<String>,
    pub(super) window: Option<String>,
    pub(super) guard: Option<String>,
    pub(super) max_attempts: Option<String>,
    pub(super) pending_at: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawDatabase {
    pub(super) url: Option<String>,
    pub(super) password_file: Option<String>,
    pub(super) pool_size: Option<String>,
    pub(super) connect_timeout: Option<String>,
    pub(super) owner_role: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawLog {
    pub(super) format: Option<String>,
    pub(super) level: Option<String>,
    pub(super) identifier: Option<String>,
}

/// Only the `[log]` section, everything else ignored: how to log the error
/// when the settings as a whole are invalid.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawLogOnly {
    pub(super) log: RawLog,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawMail {
    pub(super) transport: Option<String>,
    pub(super) smtp_url: Option<String>,
    pub(super) password_file: Option<String>,
    pub(super) password: Option<String>,
    pub(super) allow_auth_without_tls: Option<String>,
    pub(super) from: Option<String>,
    pub(super) file_dir: Option<String>,
    pub(super) locale: Option<String>,
    pub(super) timeout: Option<String>,
    pub(super) template_dir: Option<String>,
    pub(super) max_attempts: Option<String>,
    pub(super) retry_base: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawBatch {
    pub(super) size: Option<String>,
    pub(super) max_size: Option<String>,
    pub(super) max_lock_hold: Option<String>,
    pub(super) pause: Option<String>,
    pub(super) lock_timeout: Option<String>,
    pub(super) statement_timeout: Option<String>,
}
