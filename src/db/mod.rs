//! Database access: the connection pool, the embedded migrations, and one
//! module per table family with typed functions. Every SQL statement is a
//! file in `sql/queries/`, loaded only here (the [`query!`] macro).
//!
//! Functions take a client (`&impl GenericClient`, so a transaction works
//! too) and return plain data; deciding what to do is the core's.

/// The statement of `sql/queries/NAME.sql`, embedded at build time, named
/// by its file in the errors it returns.
macro_rules! query {
    ($name:literal) => {
        $crate::db::Query {
            name: $name,
            sql: include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/sql/queries/",
                $name,
                ".sql"
            )),
        }
    };
}

pub mod branches;
pub mod columns;
pub mod demo;
pub mod erasure;
pub mod export;
pub mod guests;
pub mod health;
pub mod holds;
pub mod ledger;
pub mod metrics;
pub mod migrate;
pub mod outbox;
mod owner_role;
pub mod pauses;
pub mod policies;
pub mod protocol;
pub mod roles;
pub mod runs;
pub mod tls;
pub mod yearly;

use std::sync::OnceLock;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};

use crate::error::{Error, Result};
use crate::settings::DatabaseSettings;

pub use deadpool_postgres::{GenericClient, Object};

use tokio_postgres::types::{BorrowToSql, ToSql};
use tokio_postgres::{Row, RowStream};

/// One statement of `sql/queries/`: a database error it returns names the
/// file, so that the log and `runs.error` say which statement failed.
#[derive(Clone, Copy, Debug)]
pub struct Query {
    /// The file name without extension.
    pub name: &'static str,
    /// The statement.
    pub sql: &'static str,
}

type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

impl Query {
    /// Exactly one row.
    pub async fn one(self, client: &impl GenericClient, params: Params<'_>) -> Result<Row> {
        client
            .query_one(self.sql, params)
            .await
            .map_err(|e| self.failed(e))
    }

    /// At most one row.
    pub async fn opt(self, client: &impl GenericClient, params: Params<'_>) -> Result<Option<Row>> {
        client
            .query_opt(self.sql, params)
            .await
            .map_err(|e| self.failed(e))
    }

    /// Every row.
    pub async fn all(self, client: &impl GenericClient, params: Params<'_>) -> Result<Vec<Row>> {
        client
            .query(self.sql, params)
            .await
            .map_err(|e| self.failed(e))
    }

    /// Rows changed.
    pub async fn exec(self, client: &impl GenericClient, params: Params<'_>) -> Result<u64> {
        client
            .execute(self.sql, params)
            .await
            .map_err(|e| self.failed(e))
    }

    /// The rows as a stream, for results that need not fit in memory.
    pub async fn raw<P, I>(self, client: &impl GenericClient, params: I) -> Result<RowStream>
    where
        P: BorrowToSql,
        I: IntoIterator<Item = P> + Sync + Send,
        I::IntoIter: ExactSizeIterator,
    {
        client
            .query_raw(self.sql, params)
            .await
            .map_err(|e| self.failed(e))
    }

    /// A statement without parameters or rows (several, separated by `;`).
    pub async fn batch(self, client: &impl GenericClient) -> Result<()> {
        client
            .batch_execute(self.sql)
            .await
            .map_err(|e| self.failed(e))
    }

    /// This statement prepared on `client`'s connection, for a loop that
    /// runs it many times: each call then sends its parameters alone, in
    /// one round trip, and the server parses it no more.
    pub async fn prepare(self, client: &impl GenericClient) -> Result<PreparedQuery> {
        let statement = client.prepare(self.sql).await.map_err(|e| self.failed(e))?;
        Ok(PreparedQuery {
            query: self,
            statement,
        })
    }

    /// The error of this statement.
    pub(crate) fn failed(self, source: tokio_postgres::Error) -> Error {
        Error::Db {
            statement: Some(self.name),
            source,
        }
    }
}

/// A [`Query`] prepared on one connection ([`Query::prepare`]): used on
/// another, it fails. Closed on the server when dropped.
pub struct PreparedQuery {
    query: Query,
    statement: tokio_postgres::Statement,
}

impl PreparedQuery {
    /// At most one row.
    pub async fn opt(
        &self,
        client: &impl GenericClient,
        params: Params<'_>,
    ) -> Result<Option<Row>> {
        client
            .query_opt(&self.statement, params)
            .await
            .map_err(|e| self.query.failed(e))
    }

    /// Every row.
    pub async fn all(&self, client: &impl GenericClient, params: Params<'_>) -> Result<Vec<Row>> {
        client
            .query(&self.statement, params)
            .await
            .map_err(|e| self.query.failed(e))
    }
}

/// A pool of connections to the guest database.
pub type DbPool = Pool;

/// The TLS connector of the process's first pool, for cancel requests
/// (which open a connection of their own).
static CANCEL_TLS: OnceLock<tls::Connector> = OnceLock::new();

/// Builds the pool. No connection is opened until one is needed; the root
/// certificates are read here, so that a bad `sslrootcert` fails at start.
pub fn connect_pool(settings: &DatabaseSettings) -> Result<DbPool> {
    let connector = tls::connector(&settings.tls)?;
    let _ = CANCEL_TLS.set(connector.clone());
    let mut config = settings.config.clone();
    config.application_name("retentiond");
    config.connect_timeout(settings.connect_timeout);
    // Server notices ("already exists, skipping") are not worth a log line.
    // JIT compiling the classification costs more than it saves: about a
    // second per whole-table pass (measured at 300k guests: a branch's
    // candidate listing 0.72 s with JIT, 0.23 s without).
    //
    // A killed client's session lives on and keeps its branch locks while it
    // runs a statement: the server checks every second that we are still
    // there (client_connection_check_interval), and TCP keepalives and the
    // user timeout end a connection to a vanished host within about a minute.
    config.options(
        "-c client_min_messages=warning -c jit=off -c client_connection_check_interval=1000 \
         -c search_path=pg_catalog,pg_temp",
    );
    config
        .keepalives(true)
        .keepalives_idle(Duration::from_secs(15))
        .keepalives_interval(Duration::from_secs(5))
        .keepalives_retries(3)
        .tcp_user_timeout(Duration::from_secs(60));
    let manager = Manager::from_config(
        config,
        connector,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(settings.pool_size)
        .runtime(Runtime::Tokio1)
        .wait_timeout(Some(settings.connect_timeout))
        .create_timeout(Some(settings.connect_timeout))
        .recycle_timeout(Some(Duration::from_secs(5)))
        .build()
        .map_err(|e| Error::cause("cannot build the database pool", e))
}

/// Takes a connection and checks that the schema matches this binary.
pub async fn connect_checked(pool: &DbPool) -> Result<Object> {
    let client = pool.get().await?;
    migrate::ensure_current(&client).await?;
    Ok(client)
}

/// A read-only transaction that sees one snapshot throughout (exports,
/// `protocol verify`).
pub async fn snapshot(client: &mut Object) -> Result<deadpool_postgres::Transaction<'_>> {
    Ok(client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await?)
}

/// How long a statement may go on after a stop was asked before it is
/// cancelled: a batch usually finishes in milliseconds.
const STOP_GRACE: Duration = Duration::from_secs(2);

/// Runs `work` (statements on the connection of `token`); when `stop` fires first, gives it
/// a short grace, then cancels the running statement through the driver's
/// cancel token, so that a transaction in it rolls back and the caller
/// returns within seconds.
pub async fn stoppable<T>(
    token: tokio_postgres::CancelToken,
    stop: &tokio_util::sync::CancellationToken,
    work: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    tokio::pin!(work);
    tokio::select! {
        result = &mut work => return result,
        _ = stop.cancelled() => {}
    }
    if let Ok(result) = tokio::time::timeout(STOP_GRACE, &mut work).await {
        return result;
    }
    tracing::info!("stop requested: cancelling the running statement");
    let cancelled = match CANCEL_TLS.get() {
        Some(connector) => token.cancel_query(connector.clone()).await,
        None => token.cancel_query(tokio_postgres::NoTls).await,
    };
    if let Err(e) = cancelled {
        tracing::warn!(error = %e, "cannot cancel the running statement; leaving it");
        return Err(Error::Failed("stopped before the statement ended".into()));
    }
    match tokio::time::timeout(STOP_GRACE, &mut work).await {
        Ok(result) => result,
        Err(_) => Err(Error::Failed("stopped before the statement ended".into())),
    }
}

/// Drains a row stream into `sink`, one row at a time; returns the rows seen.
pub(crate) async fn drain<T>(
    stream: tokio_postgres::RowStream,
    mut map: impl FnMut(&tokio_postgres::Row) -> Result<T>,
    mut sink: impl FnMut(T) -> Result<()>,
) -> Result<u64> {
    use futures_util::TryStreamExt;
    futures_util::pin_mut!(stream);
    let mut n = 0;
    while let Some(row) = stream.try_next().await? {
        sink(map(&row)?)?;
        n += 1;
    }
    Ok(n)
}

/// A text column as a `model` enum. A value that retentiond's statements
/// never write (a hand edit, a newer retentiond's status) is
/// [`Error::Corrupt`] naming the column, not a usage error.
pub(crate) fn parsed<T: std::str::FromStr>(row: &Row, column: &'static str) -> Result<T> {
    let value: String = row.try_get(column)?;
    value.parse().map_err(|_| Error::Corrupt { column, value })
}

/// [`parsed`] for a column that may be NULL.
pub(crate) fn parsed_opt<T: std::str::FromStr>(
    row: &Row,
    column: &'static str,
) -> Result<Option<T>> {
    let value: Option<String> = row.try_get(column)?;
    value
        .map(|value| value.parse().map_err(|_| Error::Corrupt { column, value }))
        .transpose()
}
