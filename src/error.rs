//! The library's error type and the exit code each kind of error maps to.

use std::fmt;

/// Result alias used throughout the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Any underlying error kept as the source of ours.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong, grouped by what the user should do about it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The settings are invalid; each entry names the key, the value and what is expected.
    #[error("invalid settings:\n{0}")]
    Settings(SettingsErrors),
    /// A command was given input it cannot act on (bad period, bad address, …).
    #[error("{0}")]
    Invalid(String),
    /// The input names something that does not exist, or asks for what the
    /// rules refuse. The command line adds what to do about it.
    #[error("{0}")]
    Refused(Refusal),
    /// The database schema does not match this binary.
    #[error("{0}")]
    Schema(String),
    /// A database call failed; `statement` names the `sql/queries` file
    /// where one of ours did.
    #[error("database error{}: {}", in_statement(*.statement), describe_db_error(.source))]
    Db {
        /// The statement that failed, if it was one of `sql/queries`.
        statement: Option<&'static str>,
        /// The driver's error.
        source: tokio_postgres::Error,
    },
    /// A value read from the database that it should never hold (a status
    /// or type our own statements never write): a bug or a hand edit.
    #[error("the database holds {value:?} in {column}, which this retentiond does not know")]
    Corrupt {
        /// The column read.
        column: &'static str,
        /// The value read.
        value: String,
    },
    /// No connection could be taken from the pool.
    #[error("database unavailable: {}", with_causes(.0))]
    Pool(#[from] deadpool_postgres::PoolError),
    /// A file could not be read or written.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A library call failed; the message says what was being done.
    #[error("{context}: {source}")]
    Cause {
        /// What was being done.
        context: String,
        /// The underlying error.
        source: BoxError,
    },
    /// The operation failed for a reason explained in the message.
    #[error("{0}")]
    Failed(String),
    /// `status` found things that need attention (already printed).
    #[error("{0} thing(s) need attention")]
    Attention(usize),
    /// `protocol verify` found the protocol changed; the message names the
    /// first problem.
    #[error("the action protocol was tampered with: {0}")]
    Tampered(String),
}

/// What the rules refuse, with the ids the command line needs for its advice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No such branch.
    UnknownBranch(i64),
    /// No such guest.
    UnknownGuest(i64),
    /// No such erasure request.
    UnknownRequest(i64),
    /// The branch has no period in force, so a run there would do nothing.
    NoPeriod(i64),
    /// The guest already has an open erasure request.
    OpenRequest(i64),
    /// The login that requested an erasure tried to decide it.
    FourEyes(String),
    /// A login tried to withdraw an erasure request it did not make.
    NotRequester(String),
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::UnknownBranch(id) => write!(f, "branch {id} does not exist"),
            Refusal::UnknownGuest(id) => write!(f, "guest {id} does not exist"),
            Refusal::UnknownRequest(id) => write!(f, "erasure request {id} does not exist"),
            Refusal::NoPeriod(id) => write!(
                f,
                "branch {id} has no retention period configured, so nothing would ever be \
                 anonymized there"
            ),
            Refusal::OpenRequest(id) => {
                write!(f, "guest {id} has an open erasure request already")
            }
            Refusal::FourEyes(login) => write!(
                f,
                "four-eyes principle: the database login {login} requested this erasure and \
                 cannot decide it; a second person must"
            ),
            Refusal::NotRequester(login) => write!(
                f,
                "the database login {login} did not request this erasure and cannot withdraw it"
            ),
        }
    }
}

impl Error {
    /// The process exit code for this error: 2 for bad usage or settings, 3 when
    /// `status` found something that needs attention or `protocol verify` a
    /// tampered protocol, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Settings(_) | Error::Invalid(_) | Error::Refused(_) => 2,
            Error::Attention(_) | Error::Tampered(_) => 3,
            _ => 1,
        }
    }

    /// Builds an [`Error::Io`] with a description of what was being done.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    /// Builds an [`Error::Cause`]: `context` says what was being done.
    pub fn cause(context: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Error::Cause {
            context: context.into(),
            source: source.into(),
        }
    }

    /// The error as it may be stored in our tables, the protocol and mails:
    /// a database error is its SQLSTATE only, since the server's message and
    /// DETAIL can quote row contents ("Failing row contains (…)"); the full
    /// error belongs in the log.
    pub fn for_records(&self) -> String {
        match self {
            Error::Db { statement, source } => match source.code() {
                Some(code) => format!(
                    "database error{} (SQLSTATE {}); the server's message is in the log",
                    in_statement(*statement),
                    code.code()
                ),
                None => format!(
                    "database connection error{}; see the log",
                    in_statement(*statement)
                ),
            },
            other => other.to_string(),
        }
    }

    /// The SQLSTATE of a database error, if this is one.
    pub fn sql_state(&self) -> Option<&tokio_postgres::error::SqlState> {
        match self {
            Error::Db { source, .. } => source.code(),
            _ => None,
        }
    }
}

impl From<tokio_postgres::Error> for Error {
    fn from(source: tokio_postgres::Error) -> Self {
        Error::Db {
            statement: None,
            source,
        }
    }
}

/// " in NAME" for an error of a named statement.
fn in_statement(statement: Option<&str>) -> String {
    statement.map(|s| format!(" in {s}")).unwrap_or_default()
}

/// A server error carries its message in the `DbError`; the plain `Display`
/// of `tokio_postgres::Error` only says "db error".
fn describe_db_error(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => match db.detail() {
            Some(detail) => format!("{} ({detail})", db.message()),
            None => db.message().to_string(),
        },
        None => with_causes(e),
    }
}

/// An error and the causes it wraps (a refused certificate under "error
/// performing TLS handshake"), each said once.
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let said = c.to_string();
        if !text.contains(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
        cause = c.source();
    }
    text
}

/// One or more problems found while validating settings.
#[derive(Debug, Default)]
pub struct SettingsErrors(pub Vec<String>);

impl fmt::Display for SettingsErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "  - {problem}")?;
        }
        Ok(())
    }
}
