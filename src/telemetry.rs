//! Logging with tracing: the journal's own protocol under systemd (a
//! priority per level, fields such as RUN_ID and BRANCH_ID), human lines on
//! a terminal, JSON on request. Lines go to stderr; stdout is for results.
//! A fatal error goes the same way ([`fatal`]): at priority err in the
//! journal, one JSON object with `log.format = "json"`, and the familiar
//! `error: …` line on a terminal.

use std::io::IsTerminal;
use std::sync::OnceLock;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

use crate::settings::{LogFormat, LogSettings};

/// Where the log goes, decided once by [`init`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sink {
    /// The journal's native protocol.
    Journal,
    /// One JSON object per line on stderr.
    Json,
    /// Human or compact lines on stderr.
    Text,
}

static SINK: OnceLock<Sink> = OnceLock::new();

/// Installs the global subscriber and returns where it writes. `RUST_LOG`
/// takes precedence over `log.level`.
pub fn init(log: &LogSettings) -> Sink {
    if let Some(sink) = SINK.get() {
        // a second init (tests) keeps the first subscriber
        return *sink;
    }
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| EnvFilter::try_new(v).ok())
        .unwrap_or_else(|| EnvFilter::new(filter_for(&log.level)));
    let format = match log.format {
        LogFormat::Auto if under_journal() => LogFormat::Journal,
        LogFormat::Auto if std::io::stderr().is_terminal() => LogFormat::Pretty,
        other => other,
    };
    if format == LogFormat::Journal {
        if let Some(journald) = journald(&log.identifier) {
            let _ = tracing_subscriber::registry()
                .with(filter)
                .with(journald)
                .try_init();
            return *SINK.get_or_init(|| Sink::Journal);
        }
    }
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Journal => builder
            .compact()
            .without_time()
            .with_ansi(false)
            .with_target(false)
            .try_init(),
        LogFormat::Pretty => builder
            .with_ansi(std::io::stderr().is_terminal())
            .with_target(false)
            .try_init(),
        LogFormat::Auto => builder.compact().with_ansi(false).try_init(),
    };
    // A second init (tests, reload) keeps the first subscriber.
    let _ = result;
    let sink = if format == LogFormat::Json {
        Sink::Json
    } else {
        Sink::Text
    };
    *SINK.get_or_init(|| sink)
}

/// Reports the error that ends the process: through the logger at error
/// level where the log is read by programs (the journal: `journalctl -p
/// err` shows why a service failed; JSON: one object), else as the line
/// `error: MESSAGE` on stderr. Initialises logging with the defaults if
/// nothing did yet.
pub fn fatal(message: &str, exit_code: u8) {
    match SINK
        .get()
        .copied()
        .unwrap_or_else(|| init(&LogSettings::default()))
    {
        Sink::Journal | Sink::Json => tracing::error!(exit_code, "{message}"),
        Sink::Text => eprintln!("error: {message}"),
    }
}

/// Where the log goes; `None` before [`init`].
pub fn sink() -> Option<Sink> {
    SINK.get().copied()
}

/// The filter for `log.level`: a bare level is retentiond's own, and the
/// libraries say only what went wrong (tokio-cron-scheduler announces
/// every start at info); a filter with targets is taken as written.
fn filter_for(level: &str) -> String {
    let bare = level.trim().to_ascii_lowercase();
    match bare.as_str() {
        "error" | "off" => bare,
        "warn" | "info" | "debug" | "trace" => format!("warn,retentiond={bare}"),
        _ => level.to_string(),
    }
}

/// The journal's native protocol when its socket answers: `journalctl -p
/// err` shows the errors, `journalctl RUN_ID=42` a run (span and event
/// fields, `run.id` as `RUN_ID`), `journalctl -t IDENTIFIER` an instance.
fn journald(identifier: &str) -> Option<tracing_journald::Layer> {
    use tracing_journald::{Priority, PriorityMappings};
    let layer = tracing_journald::layer().ok()?;
    Some(
        layer
            .with_field_prefix(None)
            .with_syslog_identifier(identifier.to_string())
            .with_priority_mappings(PriorityMappings {
                info: Priority::Informational,
                debug: Priority::Debug,
                ..PriorityMappings::new()
            }),
    )
}

/// Whether stderr is connected to the journal: systemd sets
/// `JOURNAL_STREAM` to the device and inode of that stream, and a process
/// whose stderr was redirected elsewhere (a shell started from a service)
/// inherits the variable but not the stream.
fn under_journal() -> bool {
    use std::os::fd::AsFd;
    use std::os::unix::fs::MetadataExt;
    let Some(stream) = std::env::var_os("JOURNAL_STREAM") else {
        return false;
    };
    let Some((dev, ino)) = stream.to_str().and_then(|s| s.split_once(':')) else {
        return false;
    };
    let stderr = std::io::stderr()
        .as_fd()
        .try_clone_to_owned()
        .and_then(|fd| std::fs::File::from(fd).metadata());
    match stderr {
        Ok(meta) => dev.parse() == Ok(meta.dev()) && ino.parse() == Ok(meta.ino()),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_level_is_ours_and_libraries_only_warn() {
        assert_eq!(filter_for("info"), "warn,retentiond=info");
        assert_eq!(filter_for("DEBUG"), "warn,retentiond=debug");
        assert_eq!(filter_for("error"), "error");
        assert_eq!(
            filter_for("retentiond=debug,tokio_postgres=info"),
            "retentiond=debug,tokio_postgres=info"
        );
    }
}
