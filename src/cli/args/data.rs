//! The arguments of the commands about guests' data and its records:
//! `export`, `erasure`, `notify`, `outbox`, `protocol` and `report`.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::{Args, Subcommand, ValueEnum};

use super::{parse_instant, ActorArg, Format, FormatArg};
use crate::model::Seal;

/// `export` arguments.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Guest id.
    #[arg(long, value_name = "ID")]
    pub guest: i64,
    /// The ZIP file to write.
    #[arg(long, value_name = "FILE.zip")]
    pub out: PathBuf,
    /// Replace an existing file.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub actor: ActorArg,
    #[command(flatten)]
    pub out_format: FormatArg,
}

/// How a decided column is treated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Handling {
    /// Set to NULL with the guest's personal data.
    Anonymize,
    /// Kept as it is.
    Keep,
}

impl Handling {
    /// The word stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Handling::Anonymize => "anonymize",
            Handling::Keep => "keep",
        }
    }
}

/// `columns` subcommands.
#[derive(Debug, Subcommand)]
pub enum ColumnsCommand {
    /// Every column of guests, reservations, newsletter_subscriptions,
    /// invoices and customer_cards: built in, anonymize, keep or unclassified.
    #[command(after_help = super::pages::epilogue("columns show"))]
    Show {
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Decide how anonymization treats a column the rules do not know.
    #[command(after_help = super::pages::epilogue("columns set"))]
    Set {
        /// The column, as TABLE.COLUMN (guests.allergies).
        #[arg(long, value_name = "TABLE.COLUMN")]
        column: String,
        /// Set it to NULL with the guest's personal data, or keep it.
        #[arg(long, value_enum)]
        handling: Handling,
        #[command(flatten)]
        actor: ActorArg,
        #[command(flatten)]
        out: FormatArg,
    },
}

/// `hold` subcommands.
#[derive(Debug, Subcommand)]
pub enum HoldCommand {
    /// Place a legal hold on a guest or a whole branch: nothing of it is
    /// anonymized, by a run or an approved erasure, until it is released.
    #[command(after_help = super::pages::epilogue("hold add"))]
    #[command(group(clap::ArgGroup::new("target").required(true).args(["guest", "branch"])))]
    Add {
        /// The guest to hold.
        #[arg(long, value_name = "ID")]
        guest: Option<i64>,
        /// The branch to hold (every guest of it).
        #[arg(long, value_name = "ID")]
        branch: Option<i64>,
        /// The case it belongs to (kept with the hold, never mailed).
        #[arg(long, value_name = "TEXT")]
        reason: String,
        /// The date after which `status` asks to release or renew it.
        #[arg(long, value_name = "DATE")]
        until: Option<chrono::NaiveDate>,
        #[command(flatten)]
        actor: ActorArg,
        #[command(flatten)]
        out: FormatArg,
    },
    /// Holds in force (with --all also released ones).
    #[command(after_help = super::pages::epilogue("hold list"))]
    List {
        /// Also released holds.
        #[arg(long)]
        all: bool,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Release a hold: its guests follow the normal rules again from the next run.
    #[command(after_help = super::pages::epilogue("hold release"))]
    Release {
        /// Hold id.
        #[arg(long, value_name = "N")]
        hold: i64,
        #[command(flatten)]
        actor: ActorArg,
        #[command(flatten)]
        out: FormatArg,
    },
}

/// `report` arguments.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The calendar year, in schedule.time_zone.
    #[arg(long, value_name = "YYYY", value_parser = clap::value_parser!(i32).range(2000..=9999))]
    pub year: i32,
    /// Only this branch (default: every branch).
    #[arg(long, value_name = "ID")]
    pub branch: Option<i64>,
    /// Language of the HTML (default: the global mail.locale).
    #[arg(long, value_parser = crate::cli::values::report_locale())]
    pub locale: Option<crate::model::Locale>,
    /// The HTML file to write.
    #[arg(long, value_name = "FILE.html")]
    pub out: PathBuf,
    /// Replace an existing file.
    #[arg(long)]
    pub force: bool,
    /// Output format: a summary for people, or every figure as one JSON
    /// document.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// `erasure` subcommands.
#[derive(Debug, Subcommand)]
pub enum ErasureCommand {
    /// Record a guest's request to be erased; ends its newsletter at once.
    #[command(after_help = super::pages::epilogue("erasure request"))]
    Request {
        /// Guest id.
        #[arg(long, value_name = "ID")]
        guest: i64,
        /// Why (kept with the request, not in the protocol).
        #[arg(long, value_name = "TEXT")]
        reason: String,
        #[command(flatten)]
        actor: ActorArg,
        #[command(flatten)]
        out: FormatArg,
    },
    /// Open requests with what blocks them (with --all also decided ones).
    #[command(after_help = super::pages::epilogue("erasure list"))]
    List {
        /// Also approved and rejected requests.
        #[arg(long)]
        all: bool,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Approve a request (not by its requester): the guest is anonymized now.
    #[command(after_help = super::pages::epilogue("erasure approve"))]
    Approve {
        /// Request id.
        #[arg(long, value_name = "N")]
        request: i64,
        #[command(flatten)]
        actor: ActorArg,
        #[command(flatten)]
        out: FormatArg,
    },
    /// Take back one's own request (the login that made it only); no decision.
    #[command(after_help = super::pages::epilogue("erasure withdraw"))]
    Withdraw {
        /// Request id.
        #[arg(long, value_name = "N")]
        request: i64,
        #[command(flatten)]
        actor: ActorArg,
        #[command(flatten)]
        out: FormatArg,
    },
    /// Reject a request (not by its requester); no guest data changes.
    #[command(after_help = super::pages::epilogue("erasure reject"))]
    Reject {
        /// Request id.
        #[arg(long, value_name = "N")]
        request: i64,
        /// Why.
        #[arg(long, value_name = "TEXT")]
        reason: String,
        #[command(flatten)]
        actor: ActorArg,
        #[command(flatten)]
        out: FormatArg,
    },
}

/// `notify` subcommands.
#[derive(Debug, Subcommand)]
pub enum NotifyCommand {
    /// Send the pending summary now (to branches with addresses and the
    /// pending toggle on, or to the one branch given).
    #[command(after_help = super::pages::epilogue("notify pending"))]
    Pending {
        /// Only this branch.
        #[arg(long, value_name = "ID")]
        branch: Option<i64>,
        #[command(flatten)]
        out: FormatArg,
    },
}

/// `outbox` arguments: a subcommand, or the options of `list` alone
/// (`retentiond outbox --format json` lists).
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct OutboxArgs {
    /// List (the default) or deliver.
    #[command(subcommand)]
    pub command: Option<OutboxCommand>,
    #[command(flatten)]
    pub list: OutboxListArgs,
}

impl OutboxArgs {
    /// The command to run: `list` with the options given when no
    /// subcommand was.
    pub fn into_command(self) -> OutboxCommand {
        self.command.unwrap_or(OutboxCommand::List {
            all: self.list.all,
            limit: self.list.limit,
            format: self.list.format,
        })
    }
}

/// The options of `outbox list`.
#[derive(Debug, Args)]
pub struct OutboxListArgs {
    /// Also list sent mails.
    #[arg(long)]
    pub all: bool,
    /// At most this many (the newest).
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub limit: i64,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// `outbox` subcommands.
#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// Queued and failed mails (with --all also the sent ones); the default.
    #[command(after_help = super::pages::epilogue("outbox list"))]
    List {
        /// Also list sent mails.
        #[arg(long)]
        all: bool,
        /// At most this many (the newest).
        #[arg(long, value_name = "N", default_value_t = 100)]
        limit: i64,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Deliver every queued mail now, ignoring the retry backoff.
    #[command(after_help = super::pages::epilogue("outbox flush"))]
    Flush {
        #[command(flatten)]
        out: FormatArg,
    },
}

/// `protocol` arguments.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ProtocolArgs {
    /// Check instead of list.
    #[command(subcommand)]
    pub command: Option<ProtocolCommand>,
    /// Only this branch.
    #[arg(long, value_name = "ID")]
    pub branch: Option<i64>,
    /// Only this guest.
    #[arg(long, value_name = "ID")]
    pub guest: Option<i64>,
    /// Only rows at or after this instant (RFC 3339 or YYYY-MM-DD, UTC).
    #[arg(long, value_name = "TIME", value_parser = parse_instant)]
    pub since: Option<DateTime<Utc>>,
    /// Only rows before this instant (RFC 3339 or YYYY-MM-DD, UTC).
    #[arg(long, value_name = "TIME", value_parser = parse_instant)]
    pub until: Option<DateTime<Utc>>,
    /// Only this action.
    #[arg(long, value_name = "ACTION", value_parser = crate::cli::values::action())]
    pub action: Option<String>,
    /// At most this many rows, the newest. Without --since or --until the
    /// newest 1000; with them, every row. A cut is always said (stderr, and
    /// `truncated` in JSON).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(i64).range(1..))]
    pub limit: Option<i64>,
    /// Output format: ndjson and csv stream any number of rows.
    #[arg(long, value_enum, default_value_t = ProtocolFormat::Table)]
    pub format: ProtocolFormat,
}

/// `protocol` subcommands.
#[derive(Debug, Subcommand)]
pub enum ProtocolCommand {
    /// Check the protocol's hash chain: exit 0 when it holds, 3 naming the
    /// first problem (a row changed, removed, doubled or inserted outside
    /// the chain, a seal or the head removed or forged).
    #[command(after_help = super::pages::epilogue("protocol verify"))]
    Verify {
        /// A seal published earlier (ROW:HASH, from a completed-run mail or
        /// log line): the chain must still carry it.
        #[arg(long, value_name = "ROW:HASH")]
        seal: Option<Seal>,
        /// Another copy of the ledger to check against (an auditor's);
        /// default: ledger.path, when it exists.
        #[arg(long, value_name = "PATH")]
        ledger: Option<std::path::PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

/// Output formats of `protocol`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProtocolFormat {
    /// Aligned columns for people.
    Table,
    /// One JSON document: `rows`, `truncated`, `limit`.
    Json,
    /// One JSON object per line, streamed.
    Ndjson,
    /// RFC 4180 CSV with a header, streamed.
    Csv,
}
