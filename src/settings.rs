//! Settings: defaults in code, overlaid by a TOML file and `RETENTIOND__SECTION__KEY`
//! environment variables, validated once at start-up into one typed struct.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use serde::Deserialize;

use crate::error::{Error, Result, SettingsErrors};

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
    /// Where the settings were read from, if a file was found.
    pub source: Option<PathBuf>,
}

/// `[database]`: how to reach the guest database.
#[derive(Clone)]
pub struct DatabaseSettings {
    /// libpq-style URL or key/value string; may hold a password, never printed.
    pub url: String,
    /// Parsed form of `url`.
    pub config: tokio_postgres::Config,
    /// Connections the daemon keeps at most.
    pub pool_size: usize,
    /// How long to wait for a new connection.
    pub connect_timeout: Duration,
}

/// `[log]`: how the process logs.
#[derive(Clone, Debug)]
pub struct LogSettings {
    /// Output format.
    pub format: LogFormat,
    /// A tracing filter such as `info` or `retentiond=debug`; `RUST_LOG` wins.
    pub level: String,
}

/// Log output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Journal under systemd, pretty on a terminal, compact with timestamps otherwise.
    Auto,
    /// Compact lines without timestamps (the journal adds them).
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
    /// Guests per batch transaction.
    pub size: u32,
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

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawGdpr {
    trade_secrets: Option<String>,
    answer_within: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawSettings {
    database: RawDatabase,
    log: RawLog,
    mail: RawMail,
    batch: RawBatch,
    schedule: RawSchedule,
    gdpr: RawGdpr,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawSchedule {
    nightly_at: Option<String>,
    time_zone: Option<String>,
    tick: Option<String>,
    window: Option<String>,
    guard: Option<String>,
    max_attempts: Option<String>,
    pending_at: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawDatabase {
    url: Option<String>,
    pool_size: Option<String>,
    connect_timeout: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawLog {
    format: Option<String>,
    level: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawMail {
    transport: Option<String>,
    smtp_url: Option<String>,
    password_file: Option<String>,
    password: Option<String>,
    from: Option<String>,
    file_dir: Option<String>,
    locale: Option<String>,
    timeout: Option<String>,
    template_dir: Option<String>,
    max_attempts: Option<String>,
    retry_base: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawBatch {
    size: Option<String>,
    pause: Option<String>,
    lock_timeout: Option<String>,
    statement_timeout: Option<String>,
}

impl Settings {
    /// Loads the file (`path`, or the default path if it exists) and the
    /// environment, and validates the result.
    pub fn load(path: Option<&Path>) -> Result<Settings> {
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
        let raw: RawSettings = builder
            .build()
            .and_then(|c| c.try_deserialize())
            .map_err(|e| Error::Settings(SettingsErrors(vec![describe_config_error(&e)])))?;
        let mut settings = Settings::validate(raw).map_err(Error::Settings)?;
        settings.source = exists.then_some(file);
        Ok(settings)
    }

    /// Settings from TOML text alone (no file, no environment), validated
    /// like a settings file: for embedding and tests.
    pub fn from_toml(text: &str) -> Result<Settings> {
        let raw: RawSettings = config::Config::builder()
            .add_source(config::File::from_str(text, config::FileFormat::Toml))
            .build()
            .and_then(|c| c.try_deserialize())
            .map_err(|e| Error::Settings(SettingsErrors(vec![describe_config_error(&e)])))?;
        Settings::validate(raw).map_err(Error::Settings)
    }

    fn validate(raw: RawSettings) -> Result<Settings, SettingsErrors> {
        let mut errors = Vec::new();
        let mut check = |r: Result<(), String>| {
            if let Err(e) = r {
                errors.push(e);
            }
        };

        // [database]
        let mut db_config = None;
        let url = raw.database.url.unwrap_or_default();
        if url.trim().is_empty() {
            check(Err(
                "database.url is not set: expected a PostgreSQL URL such as \
                 postgres://retentiond@localhost/guests, in the config file or as \
                 RETENTIOND__DATABASE__URL"
                    .to_string(),
            ));
        } else {
            match tokio_postgres::Config::from_str(&url) {
                Ok(c) => db_config = Some(c),
                Err(e) => check(Err(format!(
                    "database.url = {:?} is not a valid PostgreSQL connection string ({e}): \
                     expected e.g. postgres://user@host:5432/dbname",
                    redact_url(&url)
                ))),
            }
        }
        let pool_size = parse_int(
            "database.pool_size",
            raw.database.pool_size.as_deref(),
            4,
            1,
            64,
        )
        .unwrap_or_else(|e| {
            check(Err(e));
            4
        });
        let connect_timeout = parse_duration(
            "database.connect_timeout",
            raw.database.connect_timeout.as_deref(),
            "10s",
            false,
        )
        .unwrap_or_else(|e| {
            check(Err(e));
            Duration::from_secs(10)
        });

        // [log]
        let format = match raw.log.format.as_deref().unwrap_or("auto") {
            "auto" => LogFormat::Auto,
            "journal" => LogFormat::Journal,
            "pretty" => LogFormat::Pretty,
            "json" => LogFormat::Json,
            other => {
                check(Err(format!(
                    "log.format = {other:?} is not a log format: expected auto, journal, pretty or json"
                )));
                LogFormat::Auto
            }
        };
        let level = raw.log.level.unwrap_or_else(|| "info".to_string());
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&level) {
            check(Err(format!(
                "log.level = {level:?} is not a log filter ({e}): expected e.g. info, debug or retentiond=debug,warn"
            )));
        }

        // [mail]
        let transport = match raw.mail.transport.as_deref().unwrap_or("log") {
            "smtp" => MailTransport::Smtp,
            "file" => MailTransport::File,
            "log" => MailTransport::Log,
            other => {
                check(Err(format!(
                    "mail.transport = {other:?} is not a transport: expected smtp, file or log"
                )));
                MailTransport::Log
            }
        };
        let smtp_url = raw.mail.smtp_url.filter(|s| !s.trim().is_empty());
        match (&smtp_url, transport) {
            (None, MailTransport::Smtp) => check(Err(
                "mail.smtp_url is not set but mail.transport = \"smtp\": expected e.g. \
                 smtp://127.0.0.1:2525 or smtps://user@mail.example.com:465"
                    .to_string(),
            )),
            (Some(u), _) => check(validate_smtp_url(u)),
            _ => {}
        }
        let file_dir = raw
            .mail
            .file_dir
            .filter(|s| !s.is_empty())
            .map(PathBuf::from);
        if transport == MailTransport::File && file_dir.is_none() {
            check(Err(
                "mail.file_dir is not set but mail.transport = \"file\": expected a directory \
                 such as /var/spool/retentiond"
                    .to_string(),
            ));
        }
        let password_file = raw
            .mail
            .password_file
            .filter(|s| !s.is_empty())
            .map(PathBuf::from);
        if let Some(p) = &password_file {
            if !p.is_file() {
                check(Err(format!(
                    "mail.password_file = {:?} is not a readable file: expected the path of a file \
                     that holds the SMTP password",
                    p.display()
                )));
            }
        }
        let from = raw
            .mail
            .from
            .unwrap_or_else(|| "retentiond <retentiond@localhost>".to_string());
        if let Err(e) = from.parse::<lettre::message::Mailbox>() {
            check(Err(format!(
                "mail.from = {from:?} is not a mailbox ({e}): expected e.g. \
                 \"Retention <retention@example.com>\""
            )));
        }
        let locale = raw.mail.locale.unwrap_or_else(|| "de".to_string());
        if !matches!(locale.as_str(), "de" | "en") {
            check(Err(format!(
                "mail.locale = {locale:?} is not supported: expected de or en"
            )));
        }
        let mail_timeout =
            parse_duration("mail.timeout", raw.mail.timeout.as_deref(), "30s", false)
                .unwrap_or_else(|e| {
                    check(Err(e));
                    Duration::from_secs(30)
                });

        let template_dir = raw
            .mail
            .template_dir
            .filter(|s| !s.is_empty())
            .map(PathBuf::from);
        if let Some(d) = &template_dir {
            if !d.is_dir() {
                check(Err(format!(
                    "mail.template_dir = {:?} is not a directory: expected a directory of \
                     .hbs files that override the built-in templates",
                    d.display()
                )));
            }
        }
        let mail_attempts = parse_int(
            "mail.max_attempts",
            raw.mail.max_attempts.as_deref(),
            8,
            1,
            100,
        )
        .unwrap_or_else(|e| {
            check(Err(e));
            8
        });
        let retry_base = parse_duration(
            "mail.retry_base",
            raw.mail.retry_base.as_deref(),
            "1m",
            false,
        )
        .unwrap_or_else(|e| {
            check(Err(e));
            Duration::from_secs(60)
        });

        // [batch]
        let size = parse_int("batch.size", raw.batch.size.as_deref(), 1000, 1, 100_000)
            .unwrap_or_else(|e| {
                check(Err(e));
                1000
            });
        let pause = parse_duration("batch.pause", raw.batch.pause.as_deref(), "200ms", true)
            .unwrap_or_else(|e| {
                check(Err(e));
                Duration::ZERO
            });
        let lock_timeout = parse_duration(
            "batch.lock_timeout",
            raw.batch.lock_timeout.as_deref(),
            "2s",
            false,
        )
        .unwrap_or_else(|e| {
            check(Err(e));
            Duration::from_secs(2)
        });
        let statement_timeout = parse_duration(
            "batch.statement_timeout",
            raw.batch.statement_timeout.as_deref(),
            "60s",
            false,
        )
        .unwrap_or_else(|e| {
            check(Err(e));
            Duration::from_secs(60)
        });

        // [schedule]
        let nightly_raw = raw
            .schedule
            .nightly_at
            .unwrap_or_else(|| "02:30".to_string());
        let nightly_at = chrono::NaiveTime::parse_from_str(nightly_raw.trim(), "%H:%M")
            .unwrap_or_else(|_| {
                check(Err(format!(
                    "schedule.nightly_at = {nightly_raw:?} is not a time of day: expected HH:MM \
                     (24-hour, local to each branch), such as 02:30"
                )));
                chrono::NaiveTime::MIN
            });
        let pending_raw = raw
            .schedule
            .pending_at
            .unwrap_or_else(|| "07:00".to_string());
        let pending_at = chrono::NaiveTime::parse_from_str(pending_raw.trim(), "%H:%M")
            .unwrap_or_else(|_| {
                check(Err(format!(
                    "schedule.pending_at = {pending_raw:?} is not a time of day: expected HH:MM \
                     (24-hour, local to each branch), such as 07:00"
                )));
                chrono::NaiveTime::MIN
            });
        let tz_raw = raw
            .schedule
            .time_zone
            .unwrap_or_else(|| "Europe/Berlin".to_string());
        let time_zone = tz_raw.trim().parse::<chrono_tz::Tz>().unwrap_or_else(|_| {
            check(Err(format!(
                "schedule.time_zone = {tz_raw:?} is not an IANA time zone: expected a name \
                 such as Europe/Berlin or Europe/Lisbon"
            )));
            chrono_tz::Europe::Berlin
        });
        let tick = parse_duration("schedule.tick", raw.schedule.tick.as_deref(), "1m", false)
            .unwrap_or_else(|e| {
                check(Err(e));
                Duration::from_secs(60)
            });
        if tick < Duration::from_secs(1) || tick > Duration::from_secs(3600) {
            check(Err(format!(
                "schedule.tick = {:?} is out of range: expected 1s to 1h",
                humantime::format_duration(tick).to_string()
            )));
        }
        let window = parse_duration(
            "schedule.window",
            raw.schedule.window.as_deref(),
            "3h",
            false,
        )
        .unwrap_or_else(|e| {
            check(Err(e));
            Duration::from_secs(3 * 3600)
        });
        let guard_raw = raw.schedule.guard.unwrap_or_else(|| "0.1".to_string());
        let guard = match guard_raw.trim().trim_end_matches('%').parse::<f64>() {
            Ok(v) if guard_raw.trim().ends_with('%') && (0.0..=100.0).contains(&v) => v / 100.0,
            Ok(v) if !guard_raw.trim().ends_with('%') && (0.0..=1.0).contains(&v) => v,
            _ => {
                check(Err(format!(
                    "schedule.guard = {guard_raw:?} is not a fraction: expected a number from 0 \
                     to 1 such as 0.1, or a percentage such as 10%"
                )));
                0.1
            }
        };
        let max_attempts = parse_int(
            "schedule.max_attempts",
            raw.schedule.max_attempts.as_deref(),
            3,
            1,
            100,
        )
        .unwrap_or_else(|e| {
            check(Err(e));
            3
        });

        // [gdpr]
        let mut trade_secrets = Vec::new();
        for (i, field) in raw
            .gdpr
            .trade_secrets
            .as_deref()
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .enumerate()
        {
            if EXPORT_FIELDS.contains(&field) {
                trade_secrets.push(field.to_string());
            } else {
                check(Err(format!(
                    "gdpr.trade_secrets: entry {} ({field:?}) is not an export field: expected \
                     a comma-separated list of {}",
                    i + 1,
                    EXPORT_FIELDS.join(", ")
                )));
            }
        }
        let answer_within = parse_duration(
            "gdpr.answer_within",
            raw.gdpr.answer_within.as_deref(),
            "14d",
            false,
        )
        .unwrap_or_else(|e| {
            check(Err(e));
            Duration::from_secs(14 * 86400)
        });

        if !errors.is_empty() {
            return Err(SettingsErrors(errors));
        }
        Ok(Settings {
            database: DatabaseSettings {
                url,
                config: db_config.expect("validated above"),
                pool_size: pool_size as usize,
                connect_timeout,
            },
            log: LogSettings { format, level },
            mail: MailSettings {
                transport,
                smtp_url,
                password_file,
                password: raw.mail.password.filter(|s| !s.is_empty()),
                from,
                file_dir,
                locale,
                timeout: mail_timeout,
                template_dir,
                max_attempts: mail_attempts as u32,
                retry_base,
            },
            batch: BatchSettings {
                size: size as u32,
                pause,
                lock_timeout,
                statement_timeout,
            },
            schedule: ScheduleSettings {
                nightly_at,
                time_zone,
                tick,
                window,
                guard,
                max_attempts: max_attempts as u32,
                pending_at,
            },
            gdpr: GdprSettings {
                trade_secrets,
                answer_within,
            },
            source: None,
        })
    }

    /// The effective settings as TOML, with every secret replaced by `***`.
    pub fn to_redacted_toml(&self) -> String {
        let d = |d: Duration| humantime::format_duration(d).to_string();
        let opt = |o: Option<String>| match o {
            Some(s) => format!("{s:?}"),
            None => "\"\" # not set".to_string(),
        };
        let transport = match self.mail.transport {
            MailTransport::Smtp => "smtp",
            MailTransport::File => "file",
            MailTransport::Log => "log",
        };
        let format = match self.log.format {
            LogFormat::Auto => "auto",
            LogFormat::Journal => "journal",
            LogFormat::Pretty => "pretty",
            LogFormat::Json => "json",
        };
        format!(
            "# settings file: {source}\n\
             [database]\nurl = {url:?}\npool_size = {pool}\nconnect_timeout = {ct:?}\n\n\
             [log]\nformat = {format:?}\nlevel = {level:?}\n\n\
             [mail]\ntransport = {transport:?}\nsmtp_url = {smtp}\nfrom = {from:?}\n\
             file_dir = {dir}\npassword_file = {pwf}\npassword = {pw}\nlocale = {locale:?}\ntimeout = {mt:?}\n\
             template_dir = {td}\nmax_attempts = {mma}\nretry_base = {rb:?}\n\n\
             [batch]\nsize = {size}\npause = {pause:?}\nlock_timeout = {lt:?}\nstatement_timeout = {st:?}\n\n\
             [schedule]\nnightly_at = {na:?}\ntime_zone = {tz:?}\ntick = {tick:?}\nwindow = {window:?}\n\
             guard = {guard}\nmax_attempts = {ma}\npending_at = {pa:?}\n\n\
             [gdpr]\ntrade_secrets = {ts:?}\nanswer_within = {aw:?}\n",
            source = self
                .source
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "none (defaults and environment only)".to_string()),
            url = redact_url(&self.database.url),
            pool = self.database.pool_size,
            ct = d(self.database.connect_timeout),
            level = self.log.level,
            smtp = opt(self.mail.smtp_url.as_deref().map(redact_url)),
            from = self.mail.from,
            dir = opt(self.mail.file_dir.as_ref().map(|p| p.display().to_string())),
            pwf = opt(self.mail.password_file.as_ref().map(|p| p.display().to_string())),
            pw = if self.mail.password.is_some() {
                "\"***\""
            } else {
                "\"\" # not set"
            },
            locale = self.mail.locale,
            mt = d(self.mail.timeout),
            size = self.batch.size,
            pause = d(self.batch.pause),
            lt = d(self.batch.lock_timeout),
            st = d(self.batch.statement_timeout),
            na = self.schedule.nightly_at.format("%H:%M").to_string(),
            tz = self.schedule.time_zone.name(),
            tick = d(self.schedule.tick),
            window = d(self.schedule.window),
            guard = self.schedule.guard,
            ma = self.schedule.max_attempts,
            pa = self.schedule.pending_at.format("%H:%M").to_string(),
            td = opt(self.mail.template_dir.as_ref().map(|p| p.display().to_string())),
            mma = self.mail.max_attempts,
            rb = d(self.mail.retry_base),
            ts = self.gdpr.trade_secrets.join(","),
            aw = d(self.gdpr.answer_within),
        )
    }
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_redacted_toml())
    }
}

impl fmt::Debug for DatabaseSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseSettings")
            .field("url", &redact_url(&self.url))
            .field("pool_size", &self.pool_size)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for MailSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MailSettings")
            .field("transport", &self.transport)
            .field("smtp_url", &self.smtp_url.as_deref().map(redact_url))
            .field("from", &self.from)
            .finish_non_exhaustive()
    }
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

fn parse_int(
    key: &str,
    raw: Option<&str>,
    default: u64,
    min: u64,
    max: u64,
) -> Result<u64, String> {
    let Some(raw) = raw else { return Ok(default) };
    match raw.trim().parse::<u64>() {
        Ok(v) if (min..=max).contains(&v) => Ok(v),
        _ => Err(format!(
            "{key} = {raw:?} is not valid: expected a whole number from {min} to {max}"
        )),
    }
}

/// Parses `200ms`, `0s`, `5m`, `1h 30m`; `allow_zero` says whether `0s` is meaningful.
fn parse_duration(
    key: &str,
    raw: Option<&str>,
    default: &str,
    allow_zero: bool,
) -> Result<Duration, String> {
    let raw = raw.unwrap_or(default);
    match humantime::parse_duration(raw.trim()) {
        Ok(d) if allow_zero || !d.is_zero() => Ok(d),
        Ok(_) => Err(format!(
            "{key} = {raw:?} is not valid: expected a duration greater than zero, such as 10s or 500ms"
        )),
        Err(_) => Err(format!(
            "{key} = {raw:?} is not a duration: expected a number with a unit, such as 200ms, 5s, 10m or 1h"
        )),
    }
}

fn validate_smtp_url(url: &str) -> Result<(), String> {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let host = rest
        .rsplit_once('@')
        .map(|(_, h)| h)
        .unwrap_or(rest)
        .split(['/', '?'])
        .next()
        .unwrap_or("");
    if !matches!(scheme, "smtp" | "smtps") || host.is_empty() {
        return Err(format!(
            "mail.smtp_url = {:?} is not an SMTP URL: expected smtp://host:port (STARTTLS with \
             ?tls=required) or smtps://user@host:465",
            redact_url(url)
        ));
    }
    Ok(())
}

/// Replaces the password in a URL (`scheme://user:pass@host`) or in a
/// key/value connection string (`password=…`) with `***`.
pub fn redact_url(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(authority_end);
        let authority = match authority.rsplit_once('@') {
            Some((userinfo, host)) => match userinfo.split_once(':') {
                Some((user, _)) => format!("{user}:***@{host}"),
                None => format!("{userinfo}@{host}"),
            },
            None => authority.to_string(),
        };
        let tail = redact_password_params(tail, '&');
        format!("{scheme}://{authority}{tail}")
    } else {
        redact_password_params(url, ' ')
    }
}

fn redact_password_params(text: &str, separator: char) -> String {
    text.split(separator)
        .map(|part| {
            let (prefix, kv) = match part.split_once('?') {
                Some((p, kv)) if separator == '&' => (format!("{p}?"), kv),
                _ => (String::new(), part),
            };
            match kv.split_once('=') {
                Some((k, _)) if k.trim().eq_ignore_ascii_case("password") => {
                    format!("{prefix}{k}=***")
                }
                _ => format!("{prefix}{kv}"),
            }
        })
        .collect::<Vec<_>>()
        .join(&separator.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_url_hides_password_in_userinfo() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db:5432/guests"),
            "postgres://app:***@db:5432/guests"
        );
    }

    #[test]
    fn redact_url_hides_password_query_parameter() {
        assert_eq!(
            redact_url("postgres://db/guests?user=app&password=s3cret"),
            "postgres://db/guests?user=app&password=***"
        );
    }

    #[test]
    fn redact_url_hides_password_in_key_value_form() {
        assert_eq!(
            redact_url("host=db user=app password=s3cret dbname=guests"),
            "host=db user=app password=*** dbname=guests"
        );
    }

    #[test]
    fn redact_url_keeps_urls_without_password() {
        assert_eq!(redact_url("smtp://127.0.0.1:2525"), "smtp://127.0.0.1:2525");
        assert_eq!(redact_url("smtps://user@host:465"), "smtps://user@host:465");
    }
}
