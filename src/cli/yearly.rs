//! `report`: the yearly report for the data protection officer, written as
//! HTML; the same figures as JSON on request.

use super::output::emit;
use super::{Context, ReportArgs};
use crate::error::{Error, Result};
use crate::model::Locale;
use crate::retention::yearly;

pub async fn report(cx: &Context, args: &ReportArgs) -> Result<()> {
    let report = yearly::build(cx, args.year, args.branch).await?;
    let locale = args
        .locale
        .unwrap_or_else(|| cx.settings.mail.locale.parse().unwrap_or(Locale::De));
    yearly::write_html(&report, locale, &args.out, args.force)?;
    let mut doc =
        serde_json::to_value(&report).map_err(|e| Error::cause("cannot encode JSON", e))?;
    doc["path"] = serde_json::json!(args.out);
    emit(args.format, doc, || {
        format!(
            "report of {} written to {}: {} anonymized, {} fiscal erasures, {} run(s), {} missed \
             night(s), {} erasure request(s), {} export(s), {} change(s); the protocol {}",
            report.year,
            args.out.display(),
            total(&report, crate::model::Action::GuestAnonymized),
            total(&report, crate::model::Action::FiscalDataErased),
            report.runs.len(),
            report.missed_nights.len(),
            report.erasures.requested,
            report.exports.len(),
            report.changes.len(),
            if report.seal.intact {
                "is intact"
            } else {
                "is NOT intact"
            },
        )
    })?;
    match report.seal.breach {
        None => Ok(()),
        Some(breach) => Err(Error::Tampered(breach.to_string())),
    }
}

fn total(report: &yearly::YearlyReport, action: crate::model::Action) -> i64 {
    report
        .totals
        .get(&action)
        .map_or(0, |types| types.values().sum())
}
