//! Demo data: an empty guest database filled with reproducible guests,
//! sales, reservations, subscriptions, invoices and cards, set-based (one
//! INSERT … SELECT per table), for the quick start and the benchmarks.

use std::time::Instant;

use super::context::Context;
use crate::db::demo::{self, STEPS};
use crate::error::{Error, Result};

pub use demo::Params;

/// Fills the database in one transaction; refuses a database that holds
/// branches or guests already, so that demo guests never mix with real ones.
pub async fn load(cx: &Context, params: &Params) -> Result<()> {
    let mut client = cx.client().await?;
    let tx = client.transaction().await?;
    if demo::occupied(&tx).await? {
        return Err(Error::Invalid(
            "the guest database already holds branches or guests: demo-data only fills an \
             empty database, so that demo guests never mix with real ones"
                .into(),
        ));
    }
    demo::prepare(&tx, params).await?;
    for (name, sql) in STEPS {
        let step = Instant::now();
        let rows = demo::step(&tx, sql).await?;
        tracing::info!(
            demo.step = name,
            demo.rows = rows,
            elapsed_ms = step.elapsed().as_millis() as u64,
            "demo data step"
        );
    }
    tx.commit().await?;
    demo::analyze(&client).await
}
