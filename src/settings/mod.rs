//! Settings: defaults in code, overlaid by a TOML file and `RETENTIOND__SECTION__KEY`
//! environment variables, validated once at start-up into one typed struct.
//! Loading is here; [`validate`] checks each key with a rule of its own;
//! [`redact`] prints them without secrets.

mod batch;
mod database;
pub mod keys;
mod parse;
mod raw;
mod redact;
mod smtp;
mod tls;
mod validate;

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::{Error, Result, SettingsErrors};
use raw::{RawLogOnly, RawSettings};

pub use redact::redact_url;
pub use smtp::{password_key, require_tls_for_password, SmtpTls};
pub use tls::{split_tls, RootCerts, SslMode, TlsSettings};

/// Where the settings file is looked for when `--config` is not given.
pub const DEFAULT_CONFIG_PATH: &str = "/etc/retentiond/retentiond.toml";

/// The validated settings of one process.
#[derive(Clone)]
pub struct Settings {
    /// `[database]`
    pub database: DatabaseSettings,
    /// `[log]`
    pub log: LogSettings,
    /// `[mail]`
    pub mail: MailSettings,
    /// `[batch]`
    pub batch: BatchSettings,
    /// `[schedule]`
    pub schedule: ScheduleSettings,
    /// `[gdpr]`
    pub gdpr: GdprSettings,
    /// `[metrics]`
    pub metrics: MetricsSettings,
    /// `[ledger]`
    pub ledger: LedgerSettings,
    /// Where the settings were read from, if a file was found.
    pub source: Option<PathBuf>,
}

/// `[ledger]`: the memory outside the database.
#[derive(Debug, Clone)]
pub struct LedgerSettings {
    /// The ledger file.
    pub path: PathBuf,
    /// Whether the daemon replays lost erasures by itself.
    pub auto_replay: bool,
}

/// `[metrics]`: the Prometheus endpoint of the daemon.
#[derive(Clone, Debug, Default)]
pub struct MetricsSettings {
    /// Where `serve` answers `GET /metrics`; off when not set.
    pub listen: Option<std::net::SocketAddr>,
}

/// `[database]`: how to reach the guest database.
#[derive(Clone)]
pub struct DatabaseSettings {
    /// libpq-style URL or key/value string; may hold a password, never printed.
    pub url: String,
    /// Parsed form of `url`, with the password of `password_file` if set.
    pub config: tokio_postgres::Config,
    /// `sslmode` and `sslrootcert` of `url`.
    pub tls: TlsSettings,
    /// File holding the database password (for systemd `LoadCredential=`).
    pub password_file: Option<PathBuf>,
    /// Connections the daemon keeps at most.
    pub pool_size: usize,
    /// How long to wait for a new connection.
    pub connect_timeout: Duration,
    /// The role that owns retentiond's objects and cannot log in.
    pub owner_role: String,
}

/// `[log]`: how the process logs.
#[derive(Clone, Debug)]
pub struct LogSettings {
    /// Output format.
    pub format: LogFormat,
    /// A tracing filter such as `info` or `retentiond=debug`; `RUST_LOG` wins.
    pub level: String,
    /// The journal's `SYSLOG_IDENTIFIER`.
    pub identifier: String,
}

impl Default for LogSettings {
    fn default() -> Self {
        validate::log(raw::RawLog::default(), &mut validate::Problems::default())
    }
}

/// Log output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Journal under systemd, pretty on a terminal, compact with timestamps otherwise.
    Auto,
    /// The journal's native protocol (priorities, fields); compact lines
    /// without timestamps on stderr when its socket does not answer.
    Journal,
    /// Human-readable lines with timestamps.
    Pretty,
    /// One JSON object per line.
    Json,
}

/// How mails leave the process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MailTransport {
    /// Deliver through `mail.smtp_url`.
    Smtp,
    /// Write one `.eml` file per mail into `mail.file_dir`.
    File,
    /// Write mails to the log only.
    Log,
}

/// `[mail]`: the outgoing mail settings.
#[derive(Clone)]
pub struct MailSettings {
    /// Selected transport.
    pub transport: MailTransport,
    /// lettre URL form, e.g. `smtp://127.0.0.1:2525` or `smtps://user@host:465`.
    pub smtp_url: Option<String>,
    /// File holding the SMTP password (for systemd `LoadCredential=`).
    pub password_file: Option<PathBuf>,
    /// SMTP password given directly (environment only, preferably).
    pub password: Option<String>,
    /// Whether the password may go over a connection without TLS (plain
    /// `smtp://` or opportunistic STARTTLS); refused at start-up otherwise.
    pub allow_auth_without_tls: bool,
    /// Sender mailbox.
    pub from: String,
    /// Directory for the `file` transport.
    pub file_dir: Option<PathBuf>,
    /// Default mail language (`de` or `en`).
    pub locale: String,
    /// Upper bound for one whole SMTP send.
    pub timeout: Duration,
    /// Directory whose `*.hbs` files override the embedded templates.
    pub template_dir: Option<PathBuf>,
    /// Delivery attempts before a mail is given up.
    pub max_attempts: u32,
    /// Wait after the first failed attempt; doubled after each further one.
    pub retry_base: Duration,
}

/// `[batch]`: how large and how gentle the anonymization batches are.
#[derive(Clone, Debug)]
pub struct BatchSettings {
    /// Guests in a run's first batch transaction.
    pub size: u32,
    /// The largest batch a run grows to (at least `size`).
    pub max_size: u32,
    /// The bound on a batch's row-lock hold that its size adapts to.
    pub max_lock_hold: Duration,
    /// Pause between two batches.
    pub pause: Duration,
    /// `lock_timeout` of a batch transaction.
    pub lock_timeout: Duration,
    /// `statement_timeout` of a batch transaction.
    pub statement_timeout: Duration,
}

/// `[schedule]`: when the daemon runs, and how much a scheduled run may do.
#[derive(Clone, Debug)]
pub struct ScheduleSettings {
    /// Local time of the nightly run, in each branch's own time zone.
    pub nightly_at: chrono::NaiveTime,
    /// Time zone for branches whose `time_zone` is not a known IANA name.
    pub time_zone: chrono_tz::Tz,
    /// How often the daemon checks whether a night's run is due.
    pub tick: Duration,
    /// No new batch starts after a scheduled run has been going this long.
    pub window: Duration,
    /// A scheduled run holds a branch when it would anonymize more than this
    /// fraction of the branch's not yet anonymized guests.
    pub guard: f64,
    /// Failed attempts at one night's run before the daemon waits for the next night.
    pub max_attempts: u32,
    /// Local time of the daily pending summary, in each branch's time zone.
    pub pending_at: chrono::NaiveTime,
}

/// `[gdpr]`: data subject requests.
#[derive(Clone, Debug)]
pub struct GdprSettings {
    /// Export fields withheld as trade secrets, as `file.column` (e.g. `guest.notes`).
    pub trade_secrets: Vec<String>,
    /// Open erasure requests older than this are flagged in the pending summary.
    pub answer_within: Duration,
}

/// The fields an export can withhold: `file.column`.
pub const EXPORT_FIELDS: &[&str] = &[
    "guest.first_name",
    "guest.last_name",
    "guest.email",
    "guest.phone",
    "guest.street",
    "guest.zip",
    "guest.city",
    "guest.birthday",
    "guest.notes",
    "guest.company",
    "guest.vat_id",
    "guest.economic_id",
    "sales.total_cents",
    "reservations.party_size",
    "reservations.notes",
    "newsletter.email",
    "invoices.number",
    "invoices.pdf",
    "customer_cards.card_number",
];

impl Settings {
    /// Loads the file (`path`, or the default path if it exists) and the
    /// environment, and validates the result.
    pub fn load(path: Option<&Path>) -> Result<Settings> {
        let (config, file) = read(path)?;
        let raw: RawSettings = config
            .try_deserialize()
            .map_err(|e| Error::Settings(SettingsErrors(vec![describe_config_error(&e)])))?;
        let mut settings = validate::settings(raw).map_err(Error::Settings)?;
        settings.source = file;
        Ok(settings)
    }

    /// How to log when the settings cannot be loaded: the `[log]` section
    /// of the file and the environment where it is valid on its own, the
    /// defaults where not. The error then reaches the journal, or is one
    /// JSON object, as the operator asked.
    pub fn log_for_errors(path: Option<&Path>) -> LogSettings {
        let raw = read(path)
            .ok()
            .and_then(|(config, _)| config.try_deserialize::<RawLogOnly>().ok())
            .unwrap_or_default();
        validate::log(raw.log, &mut validate::Problems::default())
    }

    /// Settings from TOML text alone (no file, no environment), validated
    /// like a settings file: for embedding and tests.
    pub fn from_toml(text: &str) -> Result<Settings> {
        let raw: RawSettings = config::Config::builder()
            .add_source(config::File::from_str(text, config::FileFormat::Toml))
            .build()
            .and_then(|c| c.try_deserialize())
            .map_err(|e| Error::Settings(SettingsErrors(vec![describe_config_error(&e)])))?;
        validate::settings(raw).map_err(Error::Settings)
    }
}

/// The file (`path`, or the default path if it exists) and the environment,
/// not yet validated; the file read, if one was.
fn read(path: Option<&Path>) -> Result<(config::Config, Option<PathBuf>)> {
    let (file, required) = match path {
        Some(p) => (p.to_path_buf(), true),
        None => (PathBuf::from(DEFAULT_CONFIG_PATH), false),
    };
    let exists = file.exists();
    if required && !exists {
        return Err(Error::Settings(SettingsErrors(vec![format!(
            "config file {} does not exist: give an existing file with --config, \
             or leave --config out to use {DEFAULT_CONFIG_PATH} and the environment",
            file.display()
        )])));
    }
    if exists {
        if let Err(e) = std::fs::File::open(&file) {
            return Err(Error::Settings(SettingsErrors(vec![format!(
                "config file {} cannot be read ({e}){}",
                file.display(),
                parse::permission_hint(&e)
            )])));
        }
    }
    let mut builder = config::Config::builder();
    if exists {
        builder = builder.add_source(
            config::File::from(file.as_path())
                .format(config::FileFormat::Toml)
                .required(true),
        );
    }
    builder = builder.add_source(
        config::Environment::with_prefix("RETENTIOND")
            .prefix_separator("__")
            .separator("__"),
    );
    let config = builder
        .build()
        .map_err(|e| Error::Settings(SettingsErrors(vec![describe_config_error(&e)])))?;
    Ok((config, exists.then_some(file)))
}

/// `config` reports the key in most messages; add what to do about it.
fn describe_config_error(e: &config::ConfigError) -> String {
    let text = e.to_string();
    if text.contains("unknown field") {
        format!("{text}: remove or correct the key (see README, \"Settings\")")
    } else {
        format!("cannot read the settings: {text}")
    }
}
