//! Every column of the guest data decided: the rules' own columns are built
//! in; any other (a column the POS adds) is anonymized with the guest's
//! personal data, kept, or unclassified until an admin decides, which
//! status, the metrics and the pending mail report.

use crate::db::{self, columns, GenericClient};
use crate::error::{Error, Result};

pub use columns::Column;

/// Every column of the guest-data tables with its handling.
pub async fn show(client: &impl GenericClient) -> Result<Vec<Column>> {
    columns::list(client).await
}

/// The columns nobody decided on, as `table.column`.
pub async fn unclassified(client: &impl GenericClient) -> Result<Vec<String>> {
    Ok(columns::list(client)
        .await?
        .iter()
        .filter(|c| c.handling == "unclassified")
        .map(Column::name)
        .collect())
}

/// Decides `TABLE.COLUMN`; returns the handling before.
pub async fn set(
    client: &mut db::Object,
    column: &str,
    handling: &str,
    actor: &str,
) -> Result<String> {
    let Some((table, name)) = column.split_once('.') else {
        return Err(Error::Invalid(format!(
            "--column {column:?} is not TABLE.COLUMN (e.g. guests.allergies)"
        )));
    };
    let known = columns::list(&*client).await?;
    let Some(c) = known
        .iter()
        .find(|c| c.table_name == table && c.column_name == name)
    else {
        return Err(Error::Invalid(format!(
            "{column} is not a column of the guest data: `retentiond columns show` lists them"
        )));
    };
    if c.handling == "built_in" {
        return Err(Error::Invalid(format!(
            "{column} is built into the rules: its handling cannot be decided otherwise"
        )));
    }
    if handling == "anonymize" && !c.nullable {
        return Err(Error::Invalid(format!(
            "{column} is NOT NULL: it cannot be anonymized to NULL; keep it, or have the POS \
             allow NULL in it first"
        )));
    }
    let tx = client.transaction().await?;
    let before = columns::set(&tx, table, name, handling, actor)
        .await
        .map_err(|e| match (e.sql_state().map(|c| c.code()), &e) {
            (Some("RT001"), Error::Db { source, .. }) => Error::Invalid(
                source
                    .as_db_error()
                    .map_or_else(|| e.to_string(), |d| d.message().to_string()),
            ),
            _ => e,
        })?;
    tx.commit().await?;
    Ok(before)
}
