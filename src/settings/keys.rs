//! Every settings key with its type, default, range and meaning: the one
//! definition that validation takes its defaults and ranges from and that
//! the manual page retentiond.toml(5) is written from, so the two cannot
//! drift apart.

use std::time::Duration;

/// What a key takes, with its range where it has one.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Kind {
    /// Free text.
    Text,
    /// A secret: never printed.
    Secret,
    /// The path of a file or a directory.
    Path,
    /// A whole number from `min` to `max`.
    Integer {
        /// Smallest value.
        min: u64,
        /// Largest value.
        max: u64,
    },
    /// A duration such as `200ms` or `1h 30m`, from `min` to `max`.
    Duration {
        /// Shortest value (zero: `0s` is allowed).
        min: Duration,
        /// Longest value, if bounded.
        max: Option<Duration>,
    },
    /// One of a fixed set of words.
    Choice(&'static [&'static str]),
    /// `true` or `false`.
    Boolean,
    /// A local time of day, `HH:MM` (24-hour).
    TimeOfDay,
    /// An IANA time zone name.
    TimeZone,
    /// A fraction from 0 to 1, or a percentage.
    Fraction,
    /// `IP:PORT`.
    SocketAddress,
    /// A PostgreSQL URL or key/value connection string.
    DatabaseUrl,
    /// An SMTP URL in lettre's form.
    SmtpUrl,
    /// A mailbox, `Name <address>` or a bare address.
    Mailbox,
    /// A tracing filter.
    LogFilter,
    /// A comma-separated list of export fields.
    FieldList,
}

impl Kind {
    /// The type and range as the manual says them.
    pub fn describe(&self) -> String {
        let d = |d: &Duration| short(*d);
        match self {
            Kind::Text => "text".into(),
            Kind::Secret => "text (secret)".into(),
            Kind::Path => "path".into(),
            Kind::Integer { min, max } => format!("whole number, {min} to {max}"),
            Kind::Duration { min, max } => match (min.is_zero(), max) {
                (true, None) => "duration, 0s or more".into(),
                (false, None) => "duration, greater than zero".into(),
                (_, Some(max)) => format!("duration, {} to {}", d(min), d(max)),
            },
            Kind::Choice(words) => format!("one of {}", words.join(", ")),
            Kind::Boolean => "true or false".into(),
            Kind::TimeOfDay => "time of day, HH:MM (24-hour)".into(),
            Kind::TimeZone => "IANA time zone name".into(),
            Kind::Fraction => "fraction, 0 to 1, or a percentage such as 10%".into(),
            Kind::SocketAddress => "IP:PORT".into(),
            Kind::DatabaseUrl => "PostgreSQL URL or key/value string".into(),
            Kind::SmtpUrl => "SMTP URL".into(),
            Kind::Mailbox => "mailbox".into(),
            Kind::LogFilter => "tracing filter".into(),
            Kind::FieldList => "comma-separated export fields".into(),
        }
    }
}

/// One settings key.
#[derive(Debug)]
pub struct Key {
    /// `section.name`, as in the file.
    pub name: &'static str,
    /// What it takes.
    pub kind: Kind,
    /// Its default; `None`: not set unless given.
    pub default: Option<&'static str>,
    /// What it is for.
    pub doc: &'static str,
}

impl Key {
    /// `RETENTIOND__SECTION__KEY`, the environment variable that sets it.
    pub fn env(&self) -> String {
        format!(
            "RETENTIOND__{}",
            self.name.replace('.', "__").to_uppercase()
        )
    }

    /// The section, `database` of `database.url`.
    pub fn section(&self) -> &'static str {
        self.name.split_once('.').map_or(self.name, |(s, _)| s)
    }

    /// The key within its section, `url` of `database.url`.
    pub fn short(&self) -> &'static str {
        self.name.split_once('.').map_or(self.name, |(_, k)| k)
    }
}

const SECOND: Duration = Duration::from_secs(1);
const NONZERO: Duration = Duration::from_nanos(1);

/// The sections, in the order of the file.
pub const SECTIONS: &[&str] = &[
    "database", "log", "mail", "batch", "schedule", "gdpr", "metrics", "ledger",
];

/// Every key, section by section.
pub static KEYS: &[Key] = &[
    Key {
        name: "database.url",
        kind: Kind::DatabaseUrl,
        default: None,
        doc: "The guest database: a PostgreSQL URL or key/value string, with \
              libpq's sslmode and sslrootcert. Printed only as the driver reads it, without \
              its password.",
    },
    Key {
        name: "database.password_file",
        kind: Kind::Path,
        default: None,
        doc: "A file holding the database password (systemd LoadCredential=); overrides a \
              password in the URL. An empty file means no password.",
    },
    Key {
        name: "database.pool_size",
        kind: Kind::Integer { min: 2, max: 64 },
        default: Some("4"),
        doc: "Connections kept at most; a run keeps one for its branch locks.",
    },
    Key {
        name: "database.connect_timeout",
        kind: Kind::Duration {
            min: NONZERO,
            max: None,
        },
        default: Some("10s"),
        doc: "How long to wait for a connection.",
    },
    Key {
        name: "database.owner_role",
        kind: Kind::Text,
        default: Some("retentiond_owner"),
        doc: "The role that owns retentiond's objects and cannot log in; migrate creates it \
              when run by a superuser. Logins change data only through its functions.",
    },
    Key {
        name: "log.format",
        kind: Kind::Choice(&["auto", "journal", "pretty", "json"]),
        default: Some("auto"),
        doc: "auto: the journal under systemd, human lines on a terminal; journal: the \
              journal's own protocol with priorities and fields (compact lines on stderr when \
              the journal does not answer); pretty; json: one JSON object per line.",
    },
    Key {
        name: "log.level",
        kind: Kind::LogFilter,
        default: Some("info"),
        doc: "A level (error, warn, info, debug, trace) for retentiond's own messages; \
              libraries log warnings and errors only. A filter with targets \
              (retentiond=debug,tokio_postgres=info) is taken as written. RUST_LOG wins.",
    },
    Key {
        name: "log.identifier",
        kind: Kind::Text,
        default: Some("retentiond"),
        doc: "The journal's SYSLOG_IDENTIFIER (journalctl -t); the template unit sets \
              retentiond-INSTANCE.",
    },
    Key {
        name: "mail.transport",
        kind: Kind::Choice(&["smtp", "file", "log"]),
        default: Some("log"),
        doc: "smtp: through mail.smtp_url; file: one .eml file per mail in mail.file_dir; \
              log: mails go to the log, so a first start needs no mail server.",
    },
    Key {
        name: "mail.smtp_url",
        kind: Kind::SmtpUrl,
        default: None,
        doc: "The relay: smtp://host:25, smtp://host:587?tls=required (STARTTLS), \
              smtps://user@host:465 (implicit TLS).",
    },
    Key {
        name: "mail.password_file",
        kind: Kind::Path,
        default: None,
        doc: "A file holding the SMTP password (systemd LoadCredential=).",
    },
    Key {
        name: "mail.password",
        kind: Kind::Secret,
        default: None,
        doc: "The SMTP password; prefer mail.password_file or the environment.",
    },
    Key {
        name: "mail.allow_auth_without_tls",
        kind: Kind::Boolean,
        default: Some("false"),
        doc: "Whether the SMTP password (mail.password_file, mail.password or the one in \
              mail.smtp_url) may go over a connection without TLS: smtp:// without tls=, or \
              with tls=opportunistic, which falls back to plain text when the server does not \
              offer STARTTLS or an attacker on the path removes the offer. false: such \
              settings are refused at start-up; use smtps:// or ?tls=required. true only for \
              a relay on a network nobody else can read.",
    },
    Key {
        name: "mail.from",
        kind: Kind::Mailbox,
        default: Some("retentiond <retentiond@localhost>"),
        doc: "The sender.",
    },
    Key {
        name: "mail.file_dir",
        kind: Kind::Path,
        default: None,
        doc: "The directory of the file transport.",
    },
    Key {
        name: "mail.locale",
        kind: Kind::Choice(&["de", "en"]),
        default: Some("de"),
        doc: "The default mail language; a branch's own setting wins.",
    },
    Key {
        name: "mail.timeout",
        kind: Kind::Duration {
            min: NONZERO,
            max: None,
        },
        default: Some("30s"),
        doc: "Upper bound for one whole send.",
    },
    Key {
        name: "mail.template_dir",
        kind: Kind::Path,
        default: None,
        doc: "A directory whose NAME.hbs files replace the built-in templates one by one.",
    },
    Key {
        name: "mail.max_attempts",
        kind: Kind::Integer { min: 1, max: 100 },
        default: Some("8"),
        doc: "Delivery attempts before a mail is given up (mail_failed).",
    },
    Key {
        name: "mail.retry_base",
        kind: Kind::Duration {
            min: NONZERO,
            max: None,
        },
        default: Some("1m"),
        doc: "The wait after the first failure; doubled after each further one, at most 6h.",
    },
    Key {
        name: "batch.size",
        kind: Kind::Integer {
            min: 1,
            max: 100_000,
        },
        default: Some("250"),
        doc: "Guests in a run's first batch transaction; later batches grow or shrink with \
              their row-lock holds (batch.max_lock_hold), up to batch.max_size.",
    },
    Key {
        name: "batch.max_size",
        kind: Kind::Integer {
            min: 1,
            max: 100_000,
        },
        default: Some("20000"),
        doc: "The largest batch a run grows to. Not set: at least batch.size; set below \
              batch.size with batch.size set too: refused.",
    },
    Key {
        name: "batch.max_lock_hold",
        kind: Kind::Duration {
            min: NONZERO,
            max: Some(Duration::from_secs(60)),
        },
        default: Some("100ms"),
        doc: "The bound on how long a batch holds its guests' row locks (p99 of the last \
              batches): batches grow while they stay well under it, shrink when they come \
              near it, and halve when one exceeds it or meets a row the POS holds.",
    },
    Key {
        name: "batch.pause",
        kind: Kind::Duration {
            min: Duration::ZERO,
            max: None,
        },
        default: Some("200ms"),
        doc: "The pause between two batches.",
    },
    Key {
        name: "batch.lock_timeout",
        kind: Kind::Duration {
            min: NONZERO,
            max: None,
        },
        default: Some("2s"),
        doc: "lock_timeout of a batch: a batch that waits longer for a row lock gives up and \
              leaves its guests for the next run.",
    },
    Key {
        name: "batch.statement_timeout",
        kind: Kind::Duration {
            min: NONZERO,
            max: None,
        },
        default: Some("60s"),
        doc: "statement_timeout of a batch.",
    },
    Key {
        name: "schedule.nightly_at",
        kind: Kind::TimeOfDay,
        default: Some("02:30"),
        doc: "Local time of the nightly run, in each branch's time zone.",
    },
    Key {
        name: "schedule.time_zone",
        kind: Kind::TimeZone,
        default: Some("Europe/Berlin"),
        doc: "The time zone of branches whose time_zone is not an IANA name.",
    },
    Key {
        name: "schedule.tick",
        kind: Kind::Duration {
            min: SECOND,
            max: Some(Duration::from_secs(3600)),
        },
        default: Some("1m"),
        doc: "How often the daemon checks whether a night is due.",
    },
    Key {
        name: "schedule.window",
        kind: Kind::Duration {
            min: NONZERO,
            max: None,
        },
        default: Some("3h"),
        doc: "Each branch's night, from schedule.nightly_at on: scheduled deletion happens \
              only inside it, and no batch starts after it ends.",
    },
    Key {
        name: "schedule.guard",
        kind: Kind::Fraction,
        default: Some("0.1"),
        doc: "A nightly run holds a branch where it would anonymize more than this fraction \
              of the not yet anonymized guests.",
    },
    Key {
        name: "schedule.max_attempts",
        kind: Kind::Integer { min: 1, max: 100 },
        default: Some("3"),
        doc: "Failed attempts at one night before the daemon waits for the next night.",
    },
    Key {
        name: "schedule.pending_at",
        kind: Kind::TimeOfDay,
        default: Some("07:00"),
        doc: "Local time of the daily pending summary, in each branch's time zone.",
    },
    Key {
        name: "gdpr.trade_secrets",
        kind: Kind::FieldList,
        default: None,
        doc: "Export fields withheld as trade secrets, as file.column (guest.notes, \
              reservations.notes, ...): the column stays, its content is replaced by a note.",
    },
    Key {
        name: "gdpr.answer_within",
        kind: Kind::Duration {
            min: NONZERO,
            max: Some(Duration::from_secs(3650 * 86400)),
        },
        default: Some("14d"),
        doc: "Open erasure requests older than this are listed in the pending summary (the \
              GDPR asks for an answer within a month).",
    },
    Key {
        name: "metrics.listen",
        kind: Kind::SocketAddress,
        default: None,
        doc: "IP:PORT where serve answers Prometheus at /metrics; off when not set. Takes \
              effect at the next start.",
    },
    Key {
        name: "ledger.path",
        kind: Kind::Path,
        default: Some("/var/lib/retentiond/ledger"),
        doc: "The ledger: an append-only file (mode 0600) outside the database that remembers \
              the protocol's seals and the approved erasures, to catch a rewound protocol and \
              replay erasures after a backup restore. Its directory must exist; under systemd \
              the default is $STATE_DIRECTORY/ledger (the unit's StateDirectory=, one per \
              instance). Belongs in the host's backup, not the database's.",
    },
    Key {
        name: "ledger.replay",
        kind: Kind::Choice(&["auto", "manual"]),
        default: Some("auto"),
        doc: "auto: the daemon replays the approved erasures a restore lost, at start and at \
              every tick; manual: only retentiond replay does.",
    },
];

/// The definition of `name`; every key validation reads is defined here.
pub fn key(name: &str) -> &'static Key {
    KEYS.iter()
        .find(|k| k.name == name)
        .unwrap_or_else(|| panic!("settings key {name} is not defined in settings::keys"))
}

/// A duration in its largest whole unit: `3650d`, `1h`, `200ms`.
pub fn short(d: Duration) -> String {
    let s = d.as_secs();
    match () {
        _ if d.subsec_nanos() != 0 => format!("{}ms", d.as_millis()),
        _ if s == 0 => "0s".into(),
        _ if s.is_multiple_of(86400) => format!("{}d", s / 86400),
        _ if s.is_multiple_of(3600) => format!("{}h", s / 3600),
        _ if s.is_multiple_of(60) => format!("{}m", s / 60),
        _ => format!("{s}s"),
    }
}

/// "a, b or c".
pub fn one_of(words: &[&str]) -> String {
    match words {
        [] => String::new(),
        [one] => one.to_string(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

#[cfg(test)]
#[path = "keys_tests.rs"]
mod tests;
