//! `export`: everything held about one guest as a ZIP of CSV files (RFC 4180,
//! UTF-8 with BOM), the invoice PDFs as files and a README.txt. Read in one
//! consistent snapshot, streamed row by row (one PDF in memory at a time),
//! written as a [`PrivateFile`] (0600, put in place only when complete,
//! never over an existing file unless asked to). Fields configured as trade secrets keep their column; their
//! content is replaced by a marker.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::json;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use super::context::Context;
use super::ensure_guest_exists;
use super::private_file::PrivateFile;
use crate::db::export::{Part, PARTS};
use crate::db::protocol::{self, Entry};
use crate::db::{self, GenericClient};
use crate::error::{Error, Result};
use crate::model::Action;

/// What replaces the content of a trade-secret field.
pub const WITHHELD: &str = "[als Betriebsgeheimnis zurückgehalten / withheld as a trade secret]";

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

/// Writes the export of `guest_id` to `out`, withholding the configured
/// trade secrets. The context's stop cancels its statement: the temporary
/// file is removed and nothing is handed out.
pub async fn export(
    cx: &Context,
    guest_id: i64,
    out: &Path,
    force: bool,
    actor: &str,
) -> Result<ExportReport> {
    let mut client = cx.client().await?;
    let token = client.cancel_token();
    let trade_secrets = &cx.settings.gdpr.trade_secrets;
    let work = write_export(&mut client, guest_id, out, force, trade_secrets, actor);
    db::stoppable(token, &cx.stop, work).await
}

#[tracing::instrument(skip_all, fields(guest.id = guest_id))]
async fn write_export(
    client: &mut db::Object,
    guest_id: i64,
    out: &Path,
    force: bool,
    trade_secrets: &[String],
    actor: &str,
) -> Result<ExportReport> {
    ensure_guest_exists(&*client, guest_id).await?;
    let (private, file) = PrivateFile::create(out, force)?;
    let result = write_zip(client, guest_id, file, trade_secrets).await;
    let (rows, pdfs, branch_id) = match result {
        Ok(r) => r,
        Err(e) => {
            private.discard();
            return Err(e);
        }
    };
    // the protocol row and handing the file out succeed or fail together
    let tx = client.transaction().await?;
    protocol::append(
        &tx,
        &Entry {
            branch_id: Some(branch_id),
            guest_id: Some(guest_id),
            details: json!({
                "rows": rows.iter().map(|(f, n)| (f.clone(), *n)).collect::<std::collections::BTreeMap<_, _>>(),
                "pdfs": pdfs,
                "withheld": trade_secrets,
            }),
            ..Entry::new(actor, Action::ExportCreated)
        },
    )
    .await?;
    private.hand_out()?;
    if let Err(e) = tx.commit().await {
        let _ = std::fs::remove_file(out);
        return Err(e.into());
    }
    Ok(ExportReport {
        path: out.to_path_buf(),
        rows,
        pdfs,
        withheld: trade_secrets.to_vec(),
    })
}

type ZipOut = ZipWriter<BufWriter<File>>;

async fn write_zip(
    client: &mut db::Object,
    guest_id: i64,
    file: File,
    trade_secrets: &[String],
) -> Result<(Vec<(String, u64)>, u64, i64)> {
    let mut zip = ZipWriter::new(BufWriter::new(file));
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .unix_permissions(0o600);
    let zip_err = |e: zip::result::ZipError| Error::cause("cannot write the ZIP", e);
    let io_err = |e: std::io::Error| Error::io("cannot write the ZIP", e);

    // one consistent snapshot of everything
    let tx = db::snapshot(client).await?;
    db::export::use_utc(&tx).await?;
    let branch_id = db::guests::branch_of(&tx, guest_id)
        .await?
        .ok_or(Error::Refused(crate::error::Refusal::UnknownGuest(
            guest_id,
        )))?;

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
        for id in db::export::invoice_pdf_ids(&tx, guest_id).await? {
            let pdf = db::export::invoice_pdf(&tx, id).await?;
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
    let csv_err = |e: csv::Error| Error::cause("cannot write the CSV", e);
    csv.write_record(part.columns).map_err(csv_err)?;
    let n = db::export::stream_part(client, part, guest_id, |values| {
        let record = values
            .into_iter()
            .zip(&withheld)
            .map(|(value, &withheld)| match value {
                Some(_) if withheld => WITHHELD.to_string(),
                Some(v) => csv_cell(v),
                None => String::new(),
            });
        csv.write_record(record).map_err(csv_err)
    })
    .await?;
    csv.flush()
        .map_err(|e| Error::io("cannot write the ZIP", e))?;
    Ok(n)
}

/// A value as a CSV cell that no spreadsheet program runs as a formula: a
/// text starting with `=`, `+`, `-`, `@`, a tab or a carriage return gets a
/// leading apostrophe (the usual neutralisation); plain numbers such as
/// `-1250` stay as they are.
pub fn csv_cell(value: String) -> String {
    let risky = value.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if risky && !is_plain_number(&value) {
        format!("'{value}")
    } else {
        value
    }
}

/// `-1250`, `+3.5`: a sign, digits and at most a decimal point.
fn is_plain_number(value: &str) -> bool {
    let digits = value.strip_prefix(['+', '-']).unwrap_or(value);
    digits.chars().any(|c| c.is_ascii_digit())
        && digits.chars().all(|c| c.is_ascii_digit() || c == '.')
        && digits.matches('.').count() <= 1
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

#[cfg(test)]
mod tests {
    use super::csv_cell;

    #[test]
    fn formula_cells_are_neutralised_and_numbers_kept() {
        for (value, cell) in [
            ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
            ("+49 30 1234567", "'+49 30 1234567"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("-1250", "-1250"),
            ("+3.5", "+3.5"),
            ("Müller", "Müller"),
            ("", ""),
        ] {
            assert_eq!(csv_cell(value.to_string()), cell, "{value:?}");
        }
    }
}
