//! Validation: each key has a rule of its own that turns its raw text into
//! a typed value or a message naming the key, the bad value and what is
//! expected. Every problem is collected, so one start-up reports them all.

use std::path::PathBuf;
use std::time::Duration;

use super::batch::batch;
use super::database::database;
use super::keys::{key, one_of, Key, Kind};
use super::parse::{boolean, duration, int, metrics_listen, non_empty, secret_file};
use super::raw::{RawGdpr, RawLedger, RawLog, RawMail, RawSchedule, RawSettings};
use super::redact::redact_url;
use super::smtp::{password_key, require_tls_for_password};
use super::{
    GdprSettings, LogFormat, LogSettings, MailSettings, MailTransport, ScheduleSettings, Settings,
    EXPORT_FIELDS,
};
use super::{LedgerSettings, MetricsSettings};
use crate::error::SettingsErrors;

/// The problems found so far.
#[derive(Default)]
pub(super) struct Problems(pub(super) Vec<String>);

impl Problems {
    /// The value of a rule, or `fallback` with the rule's problem noted.
    pub(super) fn take<T>(&mut self, rule: Result<T, String>, fallback: T) -> T {
        rule.unwrap_or_else(|e| {
            self.0.push(e);
            fallback
        })
    }

    /// Notes the problem of a rule that yields no value.
    pub(super) fn check(&mut self, rule: Result<(), String>) {
        self.take(rule, ());
    }
}

/// Validates everything; all problems at once.
pub(super) fn settings(raw: RawSettings) -> Result<Settings, SettingsErrors> {
    let mut p = Problems::default();
    let database = database(raw.database, &mut p);
    let log = log(raw.log, &mut p);
    let mail = mail(raw.mail, &mut p);
    let batch = batch(raw.batch, &mut p);
    let schedule = schedule(raw.schedule, &mut p);
    let gdpr = gdpr(raw.gdpr, &mut p);
    let metrics = MetricsSettings {
        listen: p.take(metrics_listen(raw.metrics.listen.as_deref()), None),
    };
    let ledger = ledger(raw.ledger, &mut p);
    match (database, p.0.is_empty()) {
        (Some(database), true) => Ok(Settings {
            database,
            log,
            mail,
            batch,
            schedule,
            gdpr,
            metrics,
            ledger,
            source: None,
        }),
        _ => Err(SettingsErrors(p.0)),
    }
}

/// The `[log]` section; also read on its own when other settings are
/// invalid, so that the error itself is logged as asked.
pub(super) fn log(raw: RawLog, p: &mut Problems) -> LogSettings {
    let format = p.take(log_format(raw.format.as_deref()), LogFormat::Auto);
    let level = raw.level.unwrap_or_else(|| default("log.level"));
    p.check(log_level(&level));
    let identifier = raw.identifier.unwrap_or_else(|| default("log.identifier"));
    let identifier = p.take(log_identifier(identifier), default("log.identifier"));
    LogSettings {
        format,
        level,
        identifier,
    }
}

fn log_format(raw: Option<&str>) -> Result<LogFormat, String> {
    match choice(key("log.format"), raw, "is not a log format")? {
        "journal" => Ok(LogFormat::Journal),
        "pretty" => Ok(LogFormat::Pretty),
        "json" => Ok(LogFormat::Json),
        _ => Ok(LogFormat::Auto),
    }
}

fn log_identifier(identifier: String) -> Result<String, String> {
    let fits = |c: char| c.is_ascii_alphanumeric() || "-_.@".contains(c);
    if (1..=64).contains(&identifier.len()) && identifier.chars().all(fits) {
        Ok(identifier)
    } else {
        Err(format!(
            "log.identifier = {identifier:?} is not an identifier: expected 1 to 64 letters, \
             digits or - _ . @, such as retentiond-eu"
        ))
    }
}

/// The key's default, for keys that have one.
fn default(name: &str) -> String {
    key(name).default.unwrap_or_default().to_string()
}

/// One of the key's words, or its default when not given.
fn choice<'a>(k: &'static Key, raw: Option<&'a str>, what: &str) -> Result<&'a str, String> {
    let Kind::Choice(words) = k.kind else {
        panic!("{} is not a choice", k.name)
    };
    let value = raw.or(k.default).unwrap_or_default();
    if words.contains(&value) {
        Ok(value)
    } else {
        Err(format!(
            "{} = {value:?} {what}: expected {}",
            k.name,
            one_of(words)
        ))
    }
}

fn log_level(level: &str) -> Result<(), String> {
    tracing_subscriber::EnvFilter::try_new(level)
        .map(drop)
        .map_err(|e| {
            format!(
                "log.level = {level:?} is not a log filter ({e}): expected e.g. info, debug or \
                 retentiond=debug,warn"
            )
        })
}

fn mail(raw: RawMail, p: &mut Problems) -> MailSettings {
    let transport = p.take(mail_transport(raw.transport.as_deref()), MailTransport::Log);
    let smtp_url = non_empty(raw.smtp_url);
    p.check(smtp_url_for(smtp_url.as_deref(), transport));
    let file_dir = non_empty(raw.file_dir).map(PathBuf::from);
    p.check(file_dir_for(file_dir.is_some(), transport));
    let password_file = non_empty(raw.password_file).map(PathBuf::from);
    if let Some(path) = &password_file {
        p.check(readable_file(path));
    }
    let password = raw.password.filter(|s| !s.is_empty());
    let allow_auth_without_tls = p.take(
        boolean(
            key("mail.allow_auth_without_tls"),
            raw.allow_auth_without_tls.as_deref(),
        ),
        false,
    );
    if let Some(url) = &smtp_url {
        let holds = password_file.as_deref().map(holds_password);
        let from = password_key(url, holds, password.is_some());
        p.check(require_tls_for_password(url, from, allow_auth_without_tls));
    }
    let from = raw.from.unwrap_or_else(|| default("mail.from"));
    p.check(mailbox(&from));
    let locale = p.take(
        choice(
            key("mail.locale"),
            raw.locale.as_deref(),
            "is not supported",
        )
        .map(String::from),
        default("mail.locale"),
    );
    let timeout = p.take(
        duration(key("mail.timeout"), raw.timeout.as_deref()),
        Duration::from_secs(30),
    );
    let template_dir = non_empty(raw.template_dir).map(PathBuf::from);
    if let Some(dir) = &template_dir {
        p.check(template_directory(dir));
    }
    let max_attempts = p.take(
        int(key("mail.max_attempts"), raw.max_attempts.as_deref()),
        8,
    );
    let retry_base = p.take(
        duration(key("mail.retry_base"), raw.retry_base.as_deref()),
        Duration::from_secs(60),
    );
    MailSettings {
        transport,
        smtp_url,
        password_file,
        password,
        allow_auth_without_tls,
        from,
        file_dir,
        locale,
        timeout,
        template_dir,
        max_attempts: max_attempts as u32,
        retry_base,
    }
}

fn mail_transport(raw: Option<&str>) -> Result<MailTransport, String> {
    match choice(key("mail.transport"), raw, "is not a transport")? {
        "smtp" => Ok(MailTransport::Smtp),
        "file" => Ok(MailTransport::File),
        _ => Ok(MailTransport::Log),
    }
}

fn smtp_url_for(url: Option<&str>, transport: MailTransport) -> Result<(), String> {
    match (url, transport) {
        (None, MailTransport::Smtp) => Err("mail.smtp_url is not set but mail.transport = \
                                            \"smtp\": expected e.g. smtp://127.0.0.1:2525 or \
                                            smtps://user@mail.example.com:465"
            .to_string()),
        (Some(u), _) => smtp_url(u),
        _ => Ok(()),
    }
}

fn smtp_url(url: &str) -> Result<(), String> {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let host = rest
        .rsplit_once('@')
        .map(|(_, h)| h)
        .unwrap_or(rest)
        .split(['/', '?'])
        .next()
        .unwrap_or("");
    let expected = "expected smtp://host:port (STARTTLS with ?tls=required or \
                    ?tls=opportunistic) or smtps://user@host:465, with / ? # @ in a \
                    password percent-encoded (or the password in mail.password_file)";
    if !matches!(scheme, "smtp" | "smtps") || host.is_empty() {
        return Err(format!(
            "mail.smtp_url = {:?} is not an SMTP URL: {expected}",
            redact_url(url)
        ));
    }
    // everything the transport will read of it, checked now (a port out of
    // range, an unknown tls= value), without ever echoing the password
    lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::from_url(url)
        .map(|_| ())
        .map_err(|e| {
            let why = e.to_string().replace(url, &redact_url(url));
            format!(
                "mail.smtp_url = {:?} cannot be used ({}): {expected}",
                redact_url(url),
                redact_url(&why)
            )
        })
}

fn file_dir_for(has_dir: bool, transport: MailTransport) -> Result<(), String> {
    if transport == MailTransport::File && !has_dir {
        return Err(
            "mail.file_dir is not set but mail.transport = \"file\": expected a \
                    directory such as /var/spool/retentiond"
                .to_string(),
        );
    }
    Ok(())
}

fn readable_file(path: &std::path::Path) -> Result<(), String> {
    if path.is_file() {
        Ok(())
    } else {
        Err(format!(
            "mail.password_file = {:?} is not a readable file: expected the path of a file \
             that holds the SMTP password",
            path.display()
        ))
    }
}

/// Whether the SMTP password file holds a password as the transport reads
/// it (the package ships an empty one: no password). A file this user may
/// not read counts as holding one unless it is empty.
fn holds_password(path: &std::path::Path) -> bool {
    match secret_file("mail.password_file", path) {
        Ok(password) => !password.is_empty(),
        Err(_) => std::fs::metadata(path).is_ok_and(|m| m.len() > 0),
    }
}

fn mailbox(from: &str) -> Result<(), String> {
    from.parse::<lettre::message::Mailbox>()
        .map(drop)
        .map_err(|e| {
            format!(
                "mail.from = {from:?} is not a mailbox ({e}): expected e.g. \
                 \"Retention <retention@example.com>\""
            )
        })
}

fn template_directory(dir: &std::path::Path) -> Result<(), String> {
    if dir.is_dir() {
        Ok(())
    } else {
        Err(format!(
            "mail.template_dir = {:?} is not a directory: expected a directory of \
             .hbs files that override the built-in templates",
            dir.display()
        ))
    }
}

fn schedule(raw: RawSchedule, p: &mut Problems) -> ScheduleSettings {
    let nightly_at = p.take(
        time_of_day(key("schedule.nightly_at"), raw.nightly_at.as_deref()),
        chrono::NaiveTime::MIN,
    );
    let pending_at = p.take(
        time_of_day(key("schedule.pending_at"), raw.pending_at.as_deref()),
        chrono::NaiveTime::MIN,
    );
    let time_zone = p.take(
        time_zone(raw.time_zone.as_deref()),
        chrono_tz::Europe::Berlin,
    );
    let tick = p.take(
        duration(key("schedule.tick"), raw.tick.as_deref()),
        Duration::from_secs(60),
    );
    let window = p.take(
        duration(key("schedule.window"), raw.window.as_deref()),
        Duration::from_secs(3 * 3600),
    );
    let guard = p.take(guard(raw.guard.as_deref()), 0.1);
    let max_attempts = p.take(
        int(key("schedule.max_attempts"), raw.max_attempts.as_deref()),
        3,
    );
    ScheduleSettings {
        nightly_at,
        time_zone,
        tick,
        window,
        guard,
        max_attempts: max_attempts as u32,
        pending_at,
    }
}

fn time_of_day(k: &Key, raw: Option<&str>) -> Result<chrono::NaiveTime, String> {
    let default = k.default.unwrap_or_default();
    let raw = raw.unwrap_or(default);
    chrono::NaiveTime::parse_from_str(raw.trim(), "%H:%M").map_err(|_| {
        format!(
            "{} = {raw:?} is not a time of day: expected HH:MM (24-hour, local to each \
             branch), such as {default}",
            k.name
        )
    })
}

fn time_zone(raw: Option<&str>) -> Result<chrono_tz::Tz, String> {
    let raw = raw
        .or(key("schedule.time_zone").default)
        .unwrap_or_default();
    raw.trim().parse::<chrono_tz::Tz>().map_err(|_| {
        format!(
            "schedule.time_zone = {raw:?} is not an IANA time zone: expected a name such as \
             Europe/Berlin or Europe/Lisbon"
        )
    })
}

fn guard(raw: Option<&str>) -> Result<f64, String> {
    let raw = raw
        .or(key("schedule.guard").default)
        .unwrap_or_default()
        .trim();
    let percent = raw.ends_with('%');
    match raw.trim_end_matches('%').parse::<f64>() {
        Ok(v) if percent && (0.0..=100.0).contains(&v) => Ok(v / 100.0),
        Ok(v) if !percent && (0.0..=1.0).contains(&v) => Ok(v),
        _ => Err(format!(
            "schedule.guard = {raw:?} is not a fraction: expected a number from 0 to 1 such as \
             0.1, or a percentage such as 10%"
        )),
    }
}

fn ledger(raw: RawLedger, p: &mut Problems) -> LedgerSettings {
    // under systemd the state directory the unit names (one per instance)
    let default = std::env::var("STATE_DIRECTORY")
        .ok()
        .and_then(|d| {
            d.split(':')
                .next()
                .filter(|d| !d.is_empty())
                .map(String::from)
        })
        .map(|d| format!("{d}/ledger"))
        .unwrap_or_else(|| key("ledger.path").default.unwrap_or("").to_string());
    let path = PathBuf::from(non_empty(raw.path).unwrap_or(default));
    if !path.is_absolute() || path.file_name().is_none() {
        p.0.push(format!(
            "ledger.path = {:?} is not an absolute path of a file: expected e.g. \
             /var/lib/retentiond/ledger",
            path.display().to_string()
        ));
    }
    let replay = p.take(
        choice(
            key("ledger.replay"),
            raw.replay.as_deref(),
            "is not a replay mode",
        )
        .map(|w| w == "auto"),
        true,
    );
    LedgerSettings {
        path,
        auto_replay: replay,
    }
}

fn gdpr(raw: RawGdpr, p: &mut Problems) -> GdprSettings {
    let mut trade_secrets = Vec::new();
    for (i, field) in raw
        .trade_secrets
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .enumerate()
    {
        if let Some(field) = p.take(export_field(i, field).map(Some), None) {
            trade_secrets.push(field);
        }
    }
    let answer_within = p.take(
        duration(key("gdpr.answer_within"), raw.answer_within.as_deref()),
        Duration::from_secs(14 * 86400),
    );
    GdprSettings {
        trade_secrets,
        answer_within,
    }
}

fn export_field(i: usize, field: &str) -> Result<String, String> {
    if EXPORT_FIELDS.contains(&field) {
        Ok(field.to_string())
    } else {
        Err(format!(
            "gdpr.trade_secrets: entry {} ({field:?}) is not an export field: expected a \
             comma-separated list of {}",
            i + 1,
            EXPORT_FIELDS.join(", ")
        ))
    }
}
