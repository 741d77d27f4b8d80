//! The action protocol as people read it: filtered, oldest first (the
//! newest rows when a limit cuts), streamed one row at a time so that a
//! listing of years costs flat memory.

use super::context::Context;
use crate::db;
use crate::error::Result;

pub use db::protocol::{Filter, Row};

/// Streams the rows of `filter` to `sink`; returns whether the limit cut
/// rows off.
pub async fn stream(
    cx: &Context,
    filter: &Filter,
    sink: impl FnMut(Row) -> Result<()>,
) -> Result<bool> {
    let client = cx.client().await?;
    db::protocol::stream(&client, filter, sink).await
}
