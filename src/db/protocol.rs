//! `retention.action_protocol`: append and list. Ids, types and counts only,
//! never a guest's personal data.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use super::{parsed, parsed_opt, GenericClient};
use crate::error::{Error, Result};
use crate::model::{Action, GuestType, Seal};

/// One protocol row to write.
#[derive(Debug)]
pub struct Entry<'a> {
    /// Who acted (a person's login or `retentiond`).
    pub actor: &'a str,
    /// What was done.
    pub action: Action,
    /// The branch concerned.
    pub branch_id: Option<i64>,
    /// The guest concerned.
    pub guest_id: Option<i64>,
    /// The guest's type at the time.
    pub guest_type: Option<GuestType>,
    /// The run this action belongs to.
    pub run_id: Option<i64>,
    /// Further facts (ids, counts, old and new settings).
    pub details: Value,
}

impl<'a> Entry<'a> {
    /// An entry with no branch, guest, run or details yet.
    pub fn new(actor: &'a str, action: Action) -> Self {
        Entry {
            actor,
            action,
            branch_id: None,
            guest_id: None,
            guest_type: None,
            run_id: None,
            details: Value::Object(Default::default()),
        }
    }
}

/// Appends one row, in the caller's transaction.
pub async fn append(client: &impl GenericClient, entry: &Entry<'_>) -> Result<()> {
    let details = if entry.details.is_null() {
        Value::Object(Default::default())
    } else {
        entry.details.clone()
    };
    query!("insert_protocol_entry")
        .exec(
            client,
            &[
                &entry.actor,
                &entry.action.as_str(),
                &entry.branch_id,
                &entry.guest_id,
                &entry.guest_type.map(GuestType::as_str),
                &entry.run_id,
                &details,
            ],
        )
        .await?;
    Ok(())
}

/// A protocol row as read back.
#[derive(Debug, Serialize)]
pub struct Row {
    /// Row id.
    pub id: i64,
    /// When it was written.
    pub at: DateTime<Utc>,
    /// Who acted.
    pub actor: String,
    /// What was done.
    pub action: Action,
    /// Branch concerned.
    pub branch_id: Option<i64>,
    /// Guest concerned.
    pub guest_id: Option<i64>,
    /// Guest type at the time.
    pub guest_type: Option<GuestType>,
    /// Run id.
    pub run_id: Option<i64>,
    /// Further facts.
    pub details: Value,
}

/// Which rows to list.
#[derive(Debug, Default)]
pub struct Filter {
    /// Only this branch.
    pub branch_id: Option<i64>,
    /// Only this guest.
    pub guest_id: Option<i64>,
    /// Only rows at or after this instant.
    pub since: Option<DateTime<Utc>>,
    /// Only this action.
    pub action: Option<String>,
    /// Only rows before this instant.
    pub until: Option<DateTime<Utc>>,
    /// At most this many rows, the newest (`None`: all).
    pub limit: Option<i64>,
}

/// Streams protocol rows to `sink`, oldest first, one at a time; with a
/// limit, the newest `limit`. Returns whether older rows were left out.
pub async fn stream(
    client: &impl GenericClient,
    filter: &Filter,
    mut sink: impl FnMut(Row) -> Result<()>,
) -> Result<bool> {
    // one row more than asked for tells whether the limit cut anything
    let fetch = filter.limit.map(|l| l.saturating_add(1));
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 6] = [
        &filter.branch_id,
        &filter.guest_id,
        &filter.since,
        &filter.action,
        &fetch,
        &filter.until,
    ];
    let stream = query!("list_protocol_entries").raw(client, params).await?;
    let mut truncated = false;
    let mut first = true;
    super::drain(
        stream,
        |r| Ok((r.try_get::<_, i64>("total")?, read_row(r)?)),
        |(total, row)| {
            // the oldest of limit + 1 rows is the one beyond the limit
            let beyond = first && filter.limit.is_some_and(|l| total > l);
            first = false;
            truncated |= beyond;
            if beyond {
                Ok(())
            } else {
                sink(row)
            }
        },
    )
    .await?;
    Ok(truncated)
}

fn read_row(r: &tokio_postgres::Row) -> Result<Row> {
    // a time retentiond never writes (the owner can insert rows) is an
    // error naming the column, never a panic
    let at = r.try_get("at").map_err(|_| Error::Corrupt {
        column: "action_protocol.at",
        value: "a time out of range".to_string(),
    })?;
    Ok(Row {
        id: r.try_get("id")?,
        at,
        actor: r.try_get("actor")?,
        action: parsed(r, "action")?,
        branch_id: r.try_get("branch_id")?,
        guest_id: r.try_get("guest_id")?,
        guest_type: parsed_opt(r, "guest_type")?,
        run_id: r.try_get("run_id")?,
        details: r.try_get("details")?,
    })
}

/// One line of the chain walk (`protocol_seal_walk.sql`): a row a seal
/// lists, joined with each table row of that id. Anything a constraint
/// guards is optional here: the owner can drop constraints.
#[derive(Debug)]
pub struct SealedRow {
    /// Tells the seals apart, also two that claim the same position.
    pub seal_no: i64,
    /// The seal's position in the chain.
    pub pos: Option<i64>,
    /// The seal as stored.
    pub seal: Option<Vec<u8>>,
    /// How many row ids the seal lists.
    pub ids: Option<i32>,
    /// How many fingerprints it holds.
    pub fingerprints: Option<i32>,
    /// This row's place in the list, from 1; `None` when the seal lists none.
    pub n: Option<i32>,
    /// The protocol row id listed.
    pub id: Option<i64>,
    /// The row's fingerprint when it was sealed.
    pub fingerprint: Option<i64>,
    /// The row's canonical form now; `None` when the row is gone.
    pub canonical: Option<String>,
    /// The fingerprint of the canonical form now.
    pub fingerprint_now: Option<i64>,
}

/// Streams the hash chain, seal by seal, each seal's rows in listed order.
pub async fn walk_seals(
    client: &impl GenericClient,
    sink: impl FnMut(SealedRow) -> Result<()>,
) -> Result<u64> {
    let none: [&(dyn tokio_postgres::types::ToSql + Sync); 0] = [];
    let stream = query!("protocol_seal_walk").raw(client, none).await?;
    super::drain(
        stream,
        |r| {
            // try_get: a column whose type a superuser changed is an
            // error, not a panic
            Ok(SealedRow {
                seal_no: r.try_get("seal_no")?,
                pos: r.try_get("pos")?,
                seal: r.try_get("seal")?,
                ids: r.try_get("ids")?,
                fingerprints: r.try_get("fingerprints")?,
                n: r.try_get("n")?,
                id: r.try_get("id")?,
                fingerprint: r.try_get("fingerprint")?,
                canonical: r.try_get("canonical")?,
                fingerprint_now: r.try_get("fingerprint_now")?,
            })
        },
        sink,
    )
    .await
}

/// What the table holds besides the chain: all its rows, and those no seal
/// lists (counted also when they have no id or share one).
#[derive(Debug)]
pub struct TableCount {
    /// Every row of the table.
    pub total: i64,
    /// Rows that no seal lists.
    pub unsealed: i64,
    /// The lowest id among those; `None` when they have none.
    pub first_unsealed: Option<i64>,
}

/// Counts the table's rows, and those no seal lists.
pub async fn count_rows(client: &impl GenericClient) -> Result<TableCount> {
    let row = query!("protocol_unsealed").one(client, &[]).await?;
    Ok(TableCount {
        total: row.try_get("total")?,
        unsealed: row.try_get("rows")?,
        first_unsealed: row.try_get("first_id")?,
    })
}

/// The lowest row id the seals list more than once, with the first two
/// seals that list it.
pub async fn listed_twice(
    client: &impl GenericClient,
) -> Result<Option<(i64, Option<i64>, Option<i64>)>> {
    match query!("protocol_listed_twice").opt(client, &[]).await? {
        Some(r) => Ok(Some((
            r.try_get("id")?,
            r.try_get("seal")?,
            r.try_get("again")?,
        ))),
        None => Ok(None),
    }
}

/// The chain's head rows (one, unless someone removed or doubled it): the
/// newest seal's position and hash.
pub async fn seal_heads(
    client: &impl GenericClient,
) -> Result<Vec<(Option<i64>, Option<Vec<u8>>)>> {
    query!("protocol_seal_head")
        .all(client, &[])
        .await?
        .iter()
        .map(|r| Ok((r.try_get("pos")?, r.try_get("seal")?)))
        .collect()
}

/// The newest seal; in a transaction that just appended a row, its seal.
pub async fn latest_seal(client: &impl GenericClient) -> Result<Option<Seal>> {
    let row = query!("protocol_seal_latest").opt(client, &[]).await?;
    Ok(row.and_then(|r| Seal::new(r.get("row_id"), r.get::<_, &[u8]>("seal"))))
}
