//! Logging with tracing: the journal's own protocol under systemd (a
//! priority per level, fields such as RUN_ID and BRANCH_ID), human lines on
//! a terminal, JSON on request. Lines go to stderr; stdout is for results.

use std::io::IsTerminal;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

use crate::settings::{LogFormat, LogSettings};

/// Installs the global subscriber. `RUST_LOG` takes precedence over `log.level`.
pub fn init(log: &LogSettings) {
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| EnvFilter::try_new(v).ok())
        .unwrap_or_else(|| EnvFilter::new(&log.level));
    let format = match log.format {
        LogFormat::Auto if under_journal() => LogFormat::Journal,
        LogFormat::Auto if std::io::stderr().is_terminal() => LogFormat::Pretty,
        other => other,
    };
    if format == LogFormat::Journal {
        if let Some(journald) = journald() {
            let _ = tracing_subscriber::registry()
                .with(filter)
                .with(journald)
                .try_init();
            return;
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
}

/// The journal's native protocol when its socket answers: `journalctl -p
/// err` shows the errors, `journalctl RUN_ID=42` a run (span and event
/// fields, `run.id` as `RUN_ID`).
fn journald() -> Option<tracing_journald::Layer> {
    use tracing_journald::{Priority, PriorityMappings};
    let layer = tracing_journald::layer().ok()?;
    Some(
        layer
            .with_field_prefix(None)
            .with_syslog_identifier("retentiond".to_string())
            .with_priority_mappings(PriorityMappings {
                info: Priority::Informational,
                debug: Priority::Debug,
                ..PriorityMappings::new()
            }),
    )
}

/// Early errors (bad settings) are printed before the subscriber exists.
pub fn init_fallback() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new("warn"))
        .with_writer(std::io::stderr)
        .without_time()
        .try_init();
}

/// systemd sets `JOURNAL_STREAM` when stderr is connected to the journal.
fn under_journal() -> bool {
    std::env::var_os("JOURNAL_STREAM").is_some()
}
