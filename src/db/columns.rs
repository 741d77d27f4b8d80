//! The guest-data columns and how anonymization treats each
//! (`retention.guest_columns`, `retention.column_handling`).

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::GenericClient;
use crate::error::Result;

/// One column.
#[derive(Clone, Debug, Serialize)]
pub struct Column {
    /// Its table in `public`.
    pub table_name: String,
    /// Its name.
    pub column_name: String,
    /// Its type.
    pub data_type: String,
    /// Whether it may hold NULL.
    pub nullable: bool,
    /// `built_in`, `anonymize`, `keep` or `unclassified`.
    pub handling: String,
    /// Who decided (the label given).
    pub decided_by: Option<String>,
    /// The database login that decided.
    pub decided_login: Option<String>,
    /// When.
    pub decided_at: Option<DateTime<Utc>>,
}

impl Column {
    /// `table.column`.
    pub fn name(&self) -> String {
        format!("{}.{}", self.table_name, self.column_name)
    }
}

/// Every column of the guest-data tables.
pub async fn list(client: &impl GenericClient) -> Result<Vec<Column>> {
    Ok(query!("columns_list")
        .all(client, &[])
        .await?
        .iter()
        .map(|r| Column {
            table_name: r.get("table_name"),
            column_name: r.get("column_name"),
            data_type: r.get("data_type"),
            nullable: r.get("nullable"),
            handling: r.get("handling"),
            decided_by: r.get("decided_by"),
            decided_login: r.get("decided_login"),
            decided_at: r.get("decided_at"),
        })
        .collect())
}

/// Decides a column's handling (`retention_api.column_set`, which writes
/// `column_decided`); returns the handling before.
pub async fn set(
    client: &impl GenericClient,
    table: &str,
    column: &str,
    handling: &str,
    actor: &str,
) -> Result<String> {
    Ok(query!("columns_set")
        .one(client, &[&table, &column, &handling, &actor])
        .await?
        .get(0))
}
