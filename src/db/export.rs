//! What a data subject export reads: one text-column query per CSV file, in
//! the caller's snapshot transaction, and the invoice PDFs one at a time.

use super::GenericClient;
use crate::error::Result;

/// One CSV file of the export: its name, its columns, and the query that
/// returns exactly those columns as text for one guest (`$1`).
#[derive(Debug)]
pub struct Part {
    /// File name without `.csv`; also the prefix of trade-secret fields.
    pub file: &'static str,
    /// Column names, in the query's order.
    pub columns: &'static [&'static str],
    sql: super::Query,
}

/// Every CSV file of an export, in the order they are written.
pub const PARTS: &[Part] = &[
    Part {
        file: "guest",
        columns: &[
            "id",
            "branch_id",
            "first_name",
            "last_name",
            "email",
            "phone",
            "street",
            "zip",
            "city",
            "birthday",
            "notes",
            "company",
            "vat_id",
            "economic_id",
            "verified",
            "created_at",
            "profile_updated_at",
            "anonymized_at",
            "fiscal_erased_at",
        ],
        sql: query!("export_guest"),
    },
    Part {
        file: "sales",
        columns: &["id", "branch_id", "sold_at", "total_cents"],
        sql: query!("export_sales"),
    },
    Part {
        file: "reservations",
        columns: &[
            "id",
            "branch_id",
            "reserved_for",
            "created_at",
            "party_size",
            "notes",
            "cancelled_at",
        ],
        sql: query!("export_reservations"),
    },
    Part {
        file: "newsletter",
        columns: &["email", "subscribed_at", "unsubscribed_at"],
        sql: query!("export_newsletter"),
    },
    Part {
        file: "invoices",
        columns: &["id", "sale_id", "number", "issued_at", "paid_at", "pdf"],
        sql: query!("export_invoices"),
    },
    Part {
        file: "customer_cards",
        columns: &["id", "card_number", "valid"],
        sql: query!("export_customer_cards"),
    },
    Part {
        file: "protocol",
        columns: &[
            "id",
            "at",
            "actor",
            "action",
            "branch_id",
            "guest_type",
            "run_id",
            "details",
        ],
        sql: query!("export_protocol"),
    },
];

/// Makes the snapshot transaction write times in UTC.
pub async fn use_utc(tx: &impl GenericClient) -> Result<()> {
    query!("export_snapshot_utc").exec(tx, &[]).await?;
    Ok(())
}

/// Streams one part's rows of a guest to `sink`, one row at a time, as
/// text values (`None` for NULL). Returns the rows written.
pub async fn stream_part(
    client: &impl GenericClient,
    part: &Part,
    guest_id: i64,
    sink: impl FnMut(Vec<Option<String>>) -> Result<()>,
) -> Result<u64> {
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 1] = [&guest_id];
    let stream = part.sql.raw(client, params).await?;
    let width = part.columns.len();
    super::drain(
        stream,
        |row| {
            (0..width)
                .map(|i| Ok(row.try_get::<_, Option<String>>(i)?))
                .collect()
        },
        sink,
    )
    .await
}

/// Ids of a guest's invoices that have a PDF.
pub async fn invoice_pdf_ids(client: &impl GenericClient, guest_id: i64) -> Result<Vec<i64>> {
    Ok(query!("export_invoice_pdfs")
        .all(client, &[&guest_id])
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect())
}

/// One invoice's PDF.
pub async fn invoice_pdf(client: &impl GenericClient, invoice_id: i64) -> Result<Vec<u8>> {
    Ok(query!("export_invoice_pdf")
        .one(client, &[&invoice_id])
        .await?
        .get(0))
}
