//! `export`: everything held about one guest as a ZIP of CSV files (RFC 4180,
//! UTF-8 with BOM), the invoice PDFs as files and a README.txt. Read in one
//! consistent snapshot, streamed row by row (one PDF in memory at a time),
//! written to a temporary file that is renamed into place only when
//! complete. Fields configured as trade secrets keep their column; their
//! content is replaced by a marker.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use deadpool_postgres::GenericClient;
use futures_util::TryStreamExt;
use serde::Serialize;
use serde_json::json;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use crate::error::{Error, Result};
use crate::retention::{ensure_guest_exists, protocol};

/// What replaces the content of a trade-secret field.
pub const WITHHELD: &str = "[als Betriebsgeheimnis zurückgehalten / withheld as a trade secret]";

/// One CSV file of the export.
struct Part {
    file: &'static str,
    columns: &'static [&'static str],
    sql: &'static str,
}

const PARTS: &[Part] = &[
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
        sql: include_str!("../../sql/queries/export_guest.sql"),
    },
    Part {
        file: "sales",
        columns: &["id", "branch_id", "sold_at", "total_cents"],
        sql: include_str!("../../sql/queries/export_sales.sql"),
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
        sql: include_str!("../../sql/queries/export_reservations.sql"),
    },
    Part {
        file: "newsletter",
        columns: &["email", "subscribed_at", "unsubscribed_at"],
        sql: include_str!("../../sql/queries/export_newsletter.sql"),
    },
    Part {
        file: "invoices",
        columns: &["id", "sale_id", "number", "issued_at", "paid_at", "pdf"],
        sql: include_str!("../../sql/queries/export_invoices.sql"),
    },
    Part {
        file: "customer_cards",
        columns: &["id", "card_number", "valid"],
        sql: include_str!("../../sql/queries/export_customer_cards.sql"),
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
        sql: include_str!("../../sql/queries/export_protocol.sql"),
    },
];

/// What an export wrote.
#[derive(Debug, Serialize)]
pub struct ExportReport {
    /// The ZIP file.
    pub path: PathBuf,
    /// Rows per CSV file.
    pub rows: Vec<(String, u64)>,
    /// Invoice PDFs included.
    pub pdfs: u64,
    /// Fields withheld as trade secrets.
    pub withheld: Vec<String>,
}

/// Writes the export of `guest_id` to `out`.
pub async fn export(
    client: &mut deadpool_postgres::Object,
    guest_id: i64,
    out: &Path,
    force: bool,
    trade_secrets: &[String],
    actor: &str,
) -> Result<ExportReport> {
    ensure_guest_exists(&*client, guest_id).await?;
    if out.exists() && !force {
        return Err(Error::Invalid(format!(
            "{} exists already: choose another file, or pass --force to replace it",
            out.display()
        )));
    }
    let dir = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        out.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "export".into()),
        std::process::id()
    ));
    let file =
        File::create(&tmp).map_err(|e| Error::io(format!("cannot create {}", tmp.display()), e))?;
    let result = write_zip(client, guest_id, file, trade_secrets).await;
    let (rows, pdfs, branch_id) = match result {
        Ok(r) => r,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    std::fs::rename(&tmp, out).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(format!("cannot move the export to {}", out.display()), e)
    })?;
    protocol::append(
        &*client,
        &protocol::Entry {
            actor,
            action: "export_created",
            branch_id: Some(branch_id),
            guest_id: Some(guest_id),
            details: json!({
                "rows": rows.iter().map(|(f, n)| (f.clone(), *n)).collect::<std::collections::BTreeMap<_, _>>(),
                "pdfs": pdfs,
                "withheld": trade_secrets,
            }),
            ..Default::default()
        },
    )
    .await?;
    Ok(ExportReport {
        path: out.to_path_buf(),
        rows,
        pdfs,
        withheld: trade_secrets.to_vec(),
    })
}

type ZipOut = ZipWriter<BufWriter<File>>;

async fn write_zip(
    client: &mut deadpool_postgres::Object,
    guest_id: i64,
    file: File,
    trade_secrets: &[String],
) -> Result<(Vec<(String, u64)>, u64, i64)> {
    let mut zip = ZipWriter::new(BufWriter::new(file));
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .unix_permissions(0o600);
    let zip_err = |e: zip::result::ZipError| Error::Failed(format!("cannot write the ZIP: {e}"));
    let io_err = |e: std::io::Error| Error::io("cannot write the ZIP", e);

    // one consistent snapshot of everything
    let tx = client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await?;
    tx.execute("SET LOCAL TimeZone = 'UTC'", &[]).await?;
    let branch_id: i64 = tx
        .query_one(
            "SELECT branch_id FROM public.guests WHERE id = $1",
            &[&guest_id],
        )
        .await?
        .get(0);

    zip.start_file("README.txt", options).map_err(zip_err)?;
    zip.write_all(readme(trade_secrets).as_bytes())
        .map_err(io_err)?;

    let mut rows = Vec::new();
    for part in PARTS {
        zip.start_file(format!("{}.csv", part.file), options)
            .map_err(zip_err)?;
        let n = write_csv(&tx, &mut zip, part, guest_id, trade_secrets).await?;
        rows.push((format!("{}.csv", part.file), n));
    }

    let mut pdfs = 0;
    if !trade_secrets.iter().any(|f| f == "invoices.pdf") {
        let params: [&(dyn tokio_postgres::types::ToSql + Sync); 1] = [&guest_id];
        let ids: Vec<i64> = tx
            .query(
                include_str!("../../sql/queries/export_invoice_pdfs.sql"),
                &params,
            )
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();
        for id in ids {
            let pdf: Vec<u8> = tx
                .query_one("SELECT pdf FROM public.invoices WHERE id = $1", &[&id])
                .await?
                .get(0);
            zip.start_file(
                format!("invoices/{id}.pdf"),
                options.compression_method(CompressionMethod::Stored),
            )
            .map_err(zip_err)?;
            zip.write_all(&pdf).map_err(io_err)?;
            pdfs += 1;
        }
    }
    tx.commit().await?;
    let mut inner = zip.finish().map_err(zip_err)?;
    inner.flush().map_err(io_err)?;
    inner
        .into_inner()
        .map_err(|e| io_err(e.into_error()))?
        .sync_all()
        .map_err(io_err)?;
    Ok((rows, pdfs, branch_id))
}

async fn write_csv(
    client: &impl GenericClient,
    zip: &mut ZipOut,
    part: &Part,
    guest_id: i64,
    trade_secrets: &[String],
) -> Result<u64> {
    let withheld: Vec<bool> = part
        .columns
        .iter()
        .map(|c| {
            trade_secrets
                .iter()
                .any(|f| *f == format!("{}.{c}", part.file))
        })
        .collect();
    // UTF-8 BOM, so that spreadsheet programs read the umlauts right
    zip.write_all("\u{feff}".as_bytes())
        .map_err(|e| Error::io("cannot write the ZIP", e))?;
    let mut csv = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(zip);
    let csv_err = |e: csv::Error| Error::Failed(format!("cannot write the CSV: {e}"));
    csv.write_record(part.columns).map_err(csv_err)?;
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 1] = [&guest_id];
    let stream = client.query_raw(part.sql, params).await?;
    futures_util::pin_mut!(stream);
    let mut n = 0;
    while let Some(row) = stream.try_next().await? {
        let record: Vec<String> = (0..part.columns.len())
            .map(|i| {
                let value: Option<String> = row.get(i);
                match value {
                    Some(_) if withheld[i] => WITHHELD.to_string(),
                    Some(v) => v,
                    None => String::new(),
                }
            })
            .collect();
        csv.write_record(&record).map_err(csv_err)?;
        n += 1;
    }
    csv.flush()
        .map_err(|e| Error::io("cannot write the ZIP", e))?;
    Ok(n)
}

fn readme(trade_secrets: &[String]) -> String {
    let withheld = if trade_secrets.is_empty() {
        "-".to_string()
    } else {
        trade_secrets.join(", ")
    };
    format!(
        "Auskunft über gespeicherte Daten / Data held about you
=====================================================

Deutsch

Dieses Archiv enthält alle Daten, die wir über Sie gespeichert haben:
  guest.csv           Ihre Stammdaten (Name, Kontakt, Adresse, Firma, Zeitpunkte)
  sales.csv           Ihre Verkäufe (Datum, Betrag in Cent)
  reservations.csv    Ihre Reservierungen (Termin, Personen, Notizen, Stornierung)
  newsletter.csv      Ihr Newsletter-Abonnement
  invoices.csv        Ihre Rechnungen; die PDF-Dateien liegen im Ordner invoices/
  customer_cards.csv  Ihre Kundenkarten
  protocol.csv        Was mit Ihren Daten geschehen ist (Aktionsprotokoll)
Die Dateien sind CSV (RFC 4180, UTF-8) und lassen sich mit jeder
Tabellenkalkulation öffnen. Leere Felder sind nicht gespeichert. Felder, die
als Betriebsgeheimnis zurückgehalten werden, sind vorhanden, ihr Inhalt ist
durch einen Hinweis ersetzt: {withheld}

English

This archive holds all data we keep about you:
  guest.csv           your profile (name, contact, address, company, times)
  sales.csv           your purchases (date, amount in cents)
  reservations.csv    your reservations (time, party size, notes, cancellation)
  newsletter.csv      your newsletter subscription
  invoices.csv        your invoices; the PDF files are in the folder invoices/
  customer_cards.csv  your customer cards
  protocol.csv        what was done with your data (action protocol)
The files are CSV (RFC 4180, UTF-8) and open in any spreadsheet program.
Empty fields are not stored. Fields withheld as a trade secret are present,
their content is replaced by a note: {withheld}
"
    )
    .replace('\n', "\r\n")
}
