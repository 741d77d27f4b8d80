//! The clap definitions of every command and argument.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::{Args, Parser, Subcommand, ValueEnum};

mod data;
pub mod pages;

pub use super::values::parse_instant;
use super::values::{parse_duration, parse_wait, parse_window};
use crate::model::GuestType;
pub use data::*;

/// Enforces GDPR retention periods on a restaurant guest database.
///
/// retentiond classifies every guest of a PostgreSQL guest database
/// (newsletter subscribers, guests without a sale, guests, regular guests,
/// company guests), shows what is overdue or due soon, and anonymizes what
/// is overdue in small transactional batches: nightly as a daemon (serve),
/// or by hand (run). Company guests' fiscal data is kept until its own
/// deadline. Every change is written to an append-only, hash-chained action
/// protocol, and managers get summaries by mail.
///
/// Retention periods are set per branch and guest type (policy); there are
/// no defaults: a type without a period is never anonymized. Automatic
/// deletion is off per branch until switched on (settings set).
#[derive(Debug, Parser)]
#[command(name = "retentiond", version, after_help = pages::epilogue(""))]
pub struct Cli {
    /// Settings file (TOML); a missing default file is fine.
    #[arg(long, global = true, value_name = "PATH", env = "RETENTIOND_CONFIG")]
    pub config: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create or upgrade the guest and retention schemas (as the owner role).
    #[command(after_help = pages::epilogue("migrate"))]
    Migrate {
        #[command(flatten)]
        out: FormatArg,
    },
    /// Give an existing login role what the daemon and the commands need, and
    /// no ownership (run as the owner role, after migrate).
    #[command(after_help = pages::epilogue("grant"))]
    Grant {
        /// The login role the daemon and the admins connect as.
        #[arg(long, value_name = "NAME")]
        role: String,
        #[command(flatten)]
        out: FormatArg,
    },
    /// Validate the settings and print them with secrets redacted.
    #[command(after_help = pages::epilogue("check-config"))]
    CheckConfig {
        /// Print nothing: only the exit code (systemd's ExecReload).
        #[arg(long)]
        quiet: bool,
        #[command(flatten)]
        out: FormatArg,
    },
    /// Print the manual page (roff), or write every page into a directory
    /// (man1/retentiond.1, man1/retentiond-policy-set.1, …,
    /// man5/retentiond.toml.5).
    #[command(after_help = pages::epilogue("man"))]
    Man {
        /// Write every page into DIR/man1 and DIR/man5 instead.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// Print the shell completion script.
    #[command(after_help = pages::epilogue("completions"))]
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Fill an empty guest database with reproducible demo data.
    #[command(after_help = pages::epilogue("demo-data"))]
    DemoData(DemoDataArgs),
    /// Show or change retention periods per branch and guest type.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Show or change per-branch settings (automatic deletion, notifications).
    #[command(subcommand)]
    Settings(SettingsCommand),
    /// Explain one guest: type, last activity, deadlines, blockers.
    #[command(after_help = pages::epilogue("classify"))]
    Classify(ClassifyArgs),
    /// The pending report: overdue, due soon, blocked and not configured.
    #[command(after_help = pages::epilogue("pending"))]
    Pending(PendingArgs),
    /// Manual catch-up run: show what is due, ask, anonymize in batches.
    #[command(after_help = pages::epilogue("run"))]
    Run(RunArgs),
    /// The daemon: nightly runs per branch in its own time zone (systemd).
    ///
    /// serve runs each branch's night: every branch with automatic deletion
    /// on is anonymized at schedule.nightly_at in the branch's own time zone,
    /// inside the night's window (schedule.window) only, never by day. A
    /// night is claimed once in the database, so it runs exactly once across
    /// restarts and several daemons; a failed night is retried at a later
    /// tick inside its window. It also queues the daily pending summaries,
    /// delivers the outbox, and with metrics.listen answers Prometheus at
    /// /metrics.
    ///
    /// Readiness: serve waits for the database, and for a schema that
    /// matches the binary, with backoff and a STATUS= line saying what it
    /// waits for; it sends READY=1 to systemd (Type=notify) only then, and
    /// STATUS=next run at … afterwards.
    ///
    /// Watchdog: with WatchdogSec= it sends WATCHDOG=1 only while it makes
    /// progress: from its idle loop, and during a tick after each batch or
    /// step. A hung statement or a half-open connection stops the heartbeat
    /// and systemd restarts the daemon.
    ///
    /// Signals: SIGTERM and SIGINT stop it: a statement still running after
    /// 2 seconds is cancelled, its batch rolls back, the run is recorded as
    /// interrupted, STOPPING=1 is sent and the process exits 0 within 5
    /// seconds. SIGHUP re-reads the settings (systemctl reload runs
    /// check-config first); invalid new settings are logged and the old ones
    /// stay in force. Log settings and metrics.listen take effect at the
    /// next start.
    #[command(after_help = pages::epilogue("serve"))]
    Serve,
    /// Export everything held about one guest as a ZIP of CSV files.
    #[command(after_help = pages::epilogue("export"))]
    Export(ExportArgs),
    /// Four-eyes erasure requests: request, list, approve, reject.
    #[command(subcommand)]
    Erasure(ErasureCommand),
    /// Legal holds: guests or branches no run or erasure anonymizes until released.
    #[command(subcommand)]
    Hold(HoldCommand),
    /// Every column of the guest data and how anonymization treats it.
    #[command(subcommand)]
    Columns(ColumnsCommand),
    /// Stop all deleting work (runs, batches, approvals) until a time, at
    /// most 30 days ahead, for every branch or one; stored in the database.
    #[command(after_help = pages::epilogue("pause"))]
    Pause {
        /// Only this branch (default: every branch).
        #[arg(long, value_name = "ID")]
        branch: Option<i64>,
        /// Why (for the operators; in status, never in mails).
        #[arg(long, value_name = "TEXT")]
        reason: String,
        /// When the pause ends by itself (at most 30 days ahead).
        #[arg(long, value_name = "TIME", value_parser = parse_instant)]
        until: DateTime<Utc>,
        #[command(flatten)]
        actor: ActorArg,
        #[command(flatten)]
        out: FormatArg,
    },
    /// End a pause now (every branch's, or with --branch that branch's).
    #[command(after_help = pages::epilogue("resume"))]
    Resume {
        /// The branch whose own pause ends (default: the pause of every branch).
        #[arg(long, value_name = "ID")]
        branch: Option<i64>,
        #[command(flatten)]
        actor: ActorArg,
        #[command(flatten)]
        out: FormatArg,
    },
    /// Apply again the approved erasures of the ledger that a backup restore
    /// lost (the daemon does it by itself unless ledger.replay = "manual").
    #[command(after_help = pages::epilogue("replay"))]
    Replay {
        /// List what would be replayed; change nothing.
        #[arg(long)]
        dry_run: bool,
        /// This database holds none of the ledger's seals because it was
        /// restored from a dump taken before the ledger began: record the
        /// restore and replay (refused without it: it could be another
        /// database's ledger).
        #[arg(long)]
        confirm_restore: bool,
        #[command(flatten)]
        actor: ActorArg,
        #[command(flatten)]
        out: FormatArg,
    },
    /// Health at a glance: schema, last and next runs, held branches, outbox, locks.
    #[command(after_help = pages::epilogue("status"))]
    Status {
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Send notification mails now.
    #[command(subcommand)]
    Notify(NotifyCommand),
    /// Show (the default) or deliver queued and failed mails.
    #[command(after_help = pages::epilogue("outbox"))]
    Outbox(OutboxArgs),
    /// Send a test mail through the configured transport and show the answer.
    #[command(after_help = pages::epilogue("mail-test"))]
    MailTest {
        /// Recipient.
        #[arg(long, value_name = "ADDRESS")]
        to: String,
        #[command(flatten)]
        out: FormatArg,
    },
    /// List action protocol rows.
    #[command(after_help = pages::epilogue("protocol"))]
    Protocol(ProtocolArgs),
    /// The yearly report for the data protection officer: one HTML file
    /// (and the same figures as JSON).
    ///
    /// report writes one self-contained HTML file for a calendar year, for
    /// print on A4: the periods in force and where they come from,
    /// anonymizations and fiscal erasures per month and guest type, the
    /// guests still overdue after each run, missed nights, erasure requests
    /// against the one-month deadline, exports, changes of periods and
    /// settings with who made them, and whether protocol verify holds with
    /// the newest seal. Every figure is read from the action protocol; no
    /// guest is named. Months are those of schedule.time_zone. The file is
    /// private (mode 0600) and never replaces an existing file without
    /// --force. With a broken hash chain the report is written and says so,
    /// and the exit code is 3.
    #[command(after_help = pages::epilogue("report"))]
    Report(ReportArgs),
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns for people.
    Table,
    /// JSON for programs.
    Json,
}

/// `--format` of a command that prints one result.
#[derive(Debug, Clone, Copy, Args)]
pub struct FormatArg {
    /// Output format: text for people, or one JSON document.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// Who is acting, for the protocol.
#[derive(Debug, Args)]
pub struct ActorArg {
    /// Label recorded in the action protocol beside the database login
    /// (default: SUDO_USER, then the OS user).
    #[arg(long, value_name = "NAME")]
    pub actor: Option<String>,
}

impl ActorArg {
    /// The name given, else the OS user.
    pub fn resolve(&self) -> String {
        self.actor
            .clone()
            .filter(|a| !a.trim().is_empty())
            .or_else(|| std::env::var("SUDO_USER").ok().filter(|u| !u.is_empty()))
            .or_else(|| std::env::var("USER").ok())
            .or_else(|| std::env::var("LOGNAME").ok())
            .unwrap_or_else(|| "unknown".to_string())
    }
}

/// `demo-data` arguments.
#[derive(Debug, Args)]
pub struct DemoDataArgs {
    /// Number of guests.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub guests: i64,
    /// Number of branches; the first is the head office.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub branches: i64,
    /// Seed of the generator: the same seed and anchor give the same data.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub seed: i32,
    /// The "today" the data is built around (YYYY-MM-DD; default: today, UTC).
    #[arg(long, value_name = "DATE", value_parser = parse_instant)]
    pub anchor: Option<DateTime<Utc>>,
    #[command(flatten)]
    pub out: FormatArg,
}

/// `policy` subcommands.
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Set a branch's own period for a guest type.
    #[command(after_help = pages::epilogue("policy set"))]
    Set {
        /// Branch id.
        #[arg(long, value_name = "ID")]
        branch: i64,
        /// Guest type.
        #[arg(long = "type", value_name = "TYPE", value_parser = super::values::guest_type())]
        guest_type: GuestType,
        /// A PostgreSQL interval: '3 years', '18 months', '400 days'.
        #[arg(long, value_name = "PERIOD", allow_hyphen_values = true)]
        period: String,
        /// Only show what the change would do in every branch it reaches;
        /// change nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        actor: ActorArg,
        #[command(flatten)]
        out: FormatArg,
    },
    /// Remove a branch's own period (it then inherits the head office's, if any).
    #[command(after_help = pages::epilogue("policy unset"))]
    Unset {
        /// Branch id.
        #[arg(long, value_name = "ID")]
        branch: i64,
        /// Guest type.
        #[arg(long = "type", value_name = "TYPE", value_parser = super::values::guest_type())]
        guest_type: GuestType,
        /// Only show what the change would do in every branch it reaches;
        /// change nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        actor: ActorArg,
        #[command(flatten)]
        out: FormatArg,
    },
    /// Show the periods in force: own, inherited or not configured.
    #[command(after_help = pages::epilogue("policy show"))]
    Show(ShowArgs),
}

/// On/off switch values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnOff {
    /// Switched on.
    On,
    /// Switched off.
    Off,
}

impl OnOff {
    /// On is true.
    pub fn as_bool(self) -> bool {
        self == OnOff::On
    }
}

/// What `policy show` and `settings show` list.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Only this branch.
    #[arg(long, value_name = "ID")]
    pub branch: Option<i64>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// `settings` subcommands.
#[derive(Debug, Subcommand)]
pub enum SettingsCommand {
    /// Change a branch's settings; options not given stay as they are.
    #[command(after_help = pages::epilogue("settings set"))]
    Set {
        /// Branch id.
        #[arg(long, value_name = "ID")]
        branch: i64,
        /// Nightly automatic deletion for this branch.
        #[arg(long, value_enum)]
        auto_delete: Option<OnOff>,
        /// Notification addresses, comma separated ("" clears them).
        #[arg(long, value_name = "ADDRESSES")]
        notify: Option<String>,
        /// Send the pending summary.
        #[arg(long, value_enum)]
        notify_pending: Option<OnOff>,
        /// Send the completed summary.
        #[arg(long, value_enum)]
        notify_completed: Option<OnOff>,
        /// Mail language for this branch (default: the global mail.locale).
        #[arg(long, value_parser = super::values::locale())]
        locale: Option<String>,
        #[command(flatten)]
        actor: ActorArg,
        #[command(flatten)]
        out: FormatArg,
    },
    /// Show branch settings.
    #[command(after_help = pages::epilogue("settings show"))]
    Show(ShowArgs),
}

/// `classify` arguments.
#[derive(Debug, Args)]
pub struct ClassifyArgs {
    /// Guest id.
    #[arg(long, value_name = "ID")]
    pub guest: i64,
    /// Evaluate at this instant instead of now (RFC 3339 or YYYY-MM-DD, UTC).
    #[arg(long, value_name = "TIME", value_parser = parse_instant)]
    pub at: Option<DateTime<Utc>>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// `pending` arguments.
#[derive(Debug, Args)]
pub struct PendingArgs {
    /// Only this branch.
    #[arg(long, value_name = "ID")]
    pub branch: Option<i64>,
    /// The "due soon" window (the pending summary's, by default).
    #[arg(long, value_name = "DURATION", default_value = "14d", value_parser = parse_window)]
    pub within: chrono::Duration,
    /// Preview another instant (RFC 3339 or YYYY-MM-DD, UTC); read-only.
    #[arg(long, value_name = "TIME", value_parser = parse_instant)]
    pub at: Option<DateTime<Utc>>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Also list the guests (ids and deadlines only).
    #[arg(long)]
    pub guests: bool,
}

/// `run` arguments.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Only this branch (default: every branch with a period configured).
    #[arg(long, value_name = "ID")]
    pub branch: Option<i64>,
    /// Show what would be done and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Confirm without asking (needed without a terminal).
    #[arg(long)]
    pub yes: bool,
    /// Start no new batch after this long (e.g. 2h); the rest waits for the next run.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub window: Option<std::time::Duration>,
    /// How long to wait for a branch another run is processing before
    /// skipping it (a run that skips a branch exits 1).
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_wait)]
    pub wait: std::time::Duration,
    /// Output format of the plan and summary.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    #[command(flatten)]
    pub actor: ActorArg,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn pending_defaults_to_the_window_of_the_pending_summary() {
        let cli = Cli::try_parse_from(["retentiond", "pending"]).unwrap();
        let Command::Pending(args) = cli.command else {
            panic!("pending parses as pending");
        };
        let window = chrono::Duration::days(crate::retention::summary::WINDOW_DAYS);
        assert_eq!(args.within, window);
    }
}
