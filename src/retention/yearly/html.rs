//! The yearly report as one self-contained HTML page for print (A4): a
//! handlebars template per language (`templates/yearly.LOCALE.html.hbs`,
//! strict mode, embedded) with inline styles, and charts drawn here as
//! inline SVG from numbers only. No script, nothing loaded from elsewhere.

use handlebars::Handlebars;
use serde_json::{json, Value};

use super::{Change, Month, Run, YearlyReport};
use crate::error::{Error, Result};
use crate::model::{Action, GuestType, Locale};

/// The page templates, and the labels of the mails (type names).
const TEMPLATES: &[(&str, &str)] = &[
    (
        "yearly.de",
        include_str!("../../../templates/yearly.de.html.hbs"),
    ),
    (
        "yearly.en",
        include_str!("../../../templates/yearly.en.html.hbs"),
    ),
];
const LABELS: &[(&str, &str)] = &[
    (
        "labels_de",
        include_str!("../../../templates/labels.de.hbs"),
    ),
    (
        "labels_en",
        include_str!("../../../templates/labels.en.hbs"),
    ),
];

/// One colour per guest type, in the order of [`GuestType::ALL`].
const COLOURS: [&str; 5] = ["#8fb3de", "#c9a227", "#2f6db5", "#5b9e5b", "#a94400"];

/// Renders the report in `locale`.
pub fn render(report: &YearlyReport, locale: Locale) -> Result<String> {
    let mut hb = Handlebars::new();
    hb.set_strict_mode(true);
    let bad =
        |e: handlebars::TemplateError| Error::cause("the report template does not compile", e);
    for (name, source) in TEMPLATES {
        hb.register_template_string(name, *source).map_err(bad)?;
    }
    for (name, source) in LABELS {
        hb.register_partial(name, *source).map_err(bad)?;
    }
    hb.render(&format!("yearly.{locale}"), &view(report)?)
        .map_err(|e| Error::cause(format!("cannot render the report ({locale})"), e))
}

/// What the template shows: the figures, formatted, and the charts.
fn view(r: &YearlyReport) -> Result<Value> {
    let mut doc =
        serde_json::to_value(r).map_err(|e| Error::cause("cannot encode the report", e))?;
    let date = |t: &chrono::DateTime<chrono::Utc>| {
        t.with_timezone(&tz(r)).format("%Y-%m-%d %H:%M").to_string()
    };
    doc["generated"] = json!(date(&r.generated_at));
    doc["month_rows"] = json!(r
        .months
        .iter()
        .map(|m| json!({
            "month": m.month,
            "anonymized": m.total(Action::GuestAnonymized),
            "fiscal": m.total(Action::FiscalDataErased),
            "unsubscribed": m.total(Action::NewsletterUnsubscribed),
        }))
        .collect::<Vec<_>>());
    let total = |a: Action, t: &str| {
        r.totals
            .get(&a)
            .and_then(|x| x.get(t))
            .copied()
            .unwrap_or(0)
    };
    doc["type_rows"] = json!(GuestType::ALL
        .iter()
        .enumerate()
        .map(|(i, t)| json!({
            "type": t,
            "colour": COLOURS[i],
            "anonymized": total(Action::GuestAnonymized, t.as_str()),
            "fiscal": total(Action::FiscalDataErased, t.as_str()),
            "unsubscribed": total(Action::NewsletterUnsubscribed, t.as_str()),
        }))
        .collect::<Vec<_>>());
    doc["sum"] = json!({
        "anonymized": r.months.iter().map(|m| m.total(Action::GuestAnonymized)).sum::<i64>(),
        "fiscal": r.months.iter().map(|m| m.total(Action::FiscalDataErased)).sum::<i64>(),
        "unsubscribed": r.months.iter().map(|m| m.total(Action::NewsletterUnsubscribed)).sum::<i64>(),
    });
    doc["chart_anonymized"] = json!(bars(&r.months, Action::GuestAnonymized));
    doc["chart_fiscal"] = json!(bars(&r.months, Action::FiscalDataErased));
    doc["chart_runs"] = json!(line(&r.runs));
    doc["run_rows"] = json!(r
        .runs
        .iter()
        .map(
            |x| json!({"run_id": x.run_id, "night": x.night.to_string(), "kind": x.kind,
                        "branch_id": x.branch_id, "status": x.status,
                        "anonymized": x.anonymized, "remaining": x.remaining})
        )
        .collect::<Vec<_>>());
    doc["erasure_rows"] = json!(r.erasures.requests.iter().map(|e| json!({
        "request_id": e.request_id, "branch_id": e.branch_id,
        "requested": date(&e.requested_at), "requested_by": who(&e.requested_by, &e.requested_login),
        "deadline": date(&e.deadline), "outcome": e.outcome,
        "decided": e.decided_at.as_ref().map(date),
        "decided_by": e.decided_by.as_ref().map(|d| who(d, &e.decided_login)),
        "days": e.days, "in_time": e.in_time,
    })).collect::<Vec<_>>());
    let rows = |changes: &[Change]| {
        changes
            .iter()
            .map(|c| {
                json!({"at": date(&c.at), "action": c.action, "by": who(&c.actor, &c.login),
                            "branch_id": c.branch_id, "guest_type": c.guest_type,
                            "what": describe(c)})
            })
            .collect::<Vec<_>>()
    };
    doc["export_rows"] = json!(rows(&r.exports));
    doc["change_rows"] = json!(rows(&r.changes));
    doc["safeguard_rows"] = json!(rows(&r.holds_and_pauses));
    doc["restore_rows"] = json!(rows(&r.restores_and_replays));
    doc["seal_newest"] = json!(r.seal.newest.as_ref().map(|s| s.to_string()));
    doc["seal_breach"] = json!(r.seal.breach.as_ref().map(|b| b.to_string()));
    Ok(doc)
}

fn tz(r: &YearlyReport) -> chrono_tz::Tz {
    r.time_zone.parse().unwrap_or(chrono_tz::UTC)
}

/// `label (login)`, or the label alone on rows without a login.
fn who(actor: &str, login: &Option<String>) -> String {
    match login {
        Some(l) if l != actor => format!("{actor} ({l})"),
        _ => actor.to_string(),
    }
}

/// A change in words: `old → new` per key; addresses only counted.
fn describe(c: &Change) -> String {
    let show = |v: &Value| match v {
        Value::Null => "–".to_string(),
        Value::String(s) => s.clone(),
        Value::Array(a) => format!("{} address(es)", a.len()),
        other => other.to_string(),
    };
    match c.action {
        Action::PolicyChanged => {
            format!("{} → {}", show(&c.details["old"]), show(&c.details["new"]))
        }
        Action::SettingsChanged => c
            .details
            .as_object()
            .map(|o| {
                o.iter()
                    .filter(|(k, _)| k.as_str() != "login")
                    .map(|(k, v)| format!("{k}: {} → {}", show(&v["old"]), show(&v["new"])))
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .unwrap_or_default(),
        Action::ColumnDecided => format!(
            "{}.{}: {} → {}",
            show(&c.details["table"]),
            show(&c.details["column"]),
            show(&c.details["old"]),
            show(&c.details["new"])
        ),
        Action::HoldPlaced => match &c.details["until"] {
            Value::String(d) => format!("hold {}, until {d}", show(&c.details["hold_id"])),
            _ => format!("hold {}", show(&c.details["hold_id"])),
        },
        Action::HoldReleased => format!("hold {}", show(&c.details["hold_id"])),
        Action::Paused | Action::Resumed | Action::PauseEnded => format!(
            "pause {} (until {})",
            show(&c.details["pause_id"]),
            show(&c.details["until"])
        ),
        Action::RestoreDetected => format!(
            "seals {}–{}, the last seen {}",
            show(&c.details["missing_from"]),
            show(&c.details["missing_to"]),
            show(&c.details["last_seen"])
        ),
        Action::ErasureReplayed => format!(
            "request {} approved {} by {}, seal {}",
            show(&c.details["request_id"]),
            show(&c.details["decided_at"]),
            show(&c.details["approved_login"]),
            show(&c.details["seal_pos"])
        ),
        _ => String::new(),
    }
}

/// Chart size in SVG units (the page scales it to its width).
const W: f64 = 640.0;
const H: f64 = 200.0;
const LEFT: f64 = 40.0;
const BOTTOM: f64 = 20.0;

/// The frame of a chart: the axes and the highest value at the top left.
fn frame(max: i64, body: &str) -> String {
    format!(
        "<svg viewBox=\"0 0 {W} {H}\" width=\"100%\" \
         role=\"img\" style=\"max-width:17cm\">\
         <line x1=\"{LEFT}\" y1=\"4\" x2=\"{LEFT}\" y2=\"{y0}\" stroke=\"#999\"/>\
         <line x1=\"{LEFT}\" y1=\"{y0}\" x2=\"{W}\" y2=\"{y0}\" stroke=\"#999\"/>\
         <text x=\"{tx}\" y=\"12\" font-size=\"10\" text-anchor=\"end\">{max}</text>\
         <text x=\"{tx}\" y=\"{y0}\" font-size=\"10\" text-anchor=\"end\">0</text>{body}</svg>",
        y0 = H - BOTTOM,
        tx = LEFT - 4.0,
    )
}

/// Twelve bars of one action per month, stacked by guest type.
fn bars(months: &[Month], action: Action) -> String {
    let max = months
        .iter()
        .map(|m| m.total(action))
        .max()
        .unwrap_or(0)
        .max(1);
    let scale = (H - BOTTOM - 8.0) / max as f64;
    let slot = (W - LEFT) / 12.0;
    let mut body = String::new();
    for (i, m) in months.iter().enumerate() {
        let x = LEFT + slot * i as f64 + slot * 0.15;
        let mut y = H - BOTTOM;
        for (t, colour) in GuestType::ALL.iter().zip(COLOURS) {
            let n = m
                .counts
                .get(&action)
                .and_then(|c| c.get(t.as_str()))
                .copied()
                .unwrap_or(0);
            if n > 0 {
                let h = n as f64 * scale;
                y -= h;
                body.push_str(&format!(
                    "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{h:.1}\" fill=\"{colour}\"/>",
                    slot * 0.7
                ));
            }
        }
        body.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{}\" font-size=\"10\" text-anchor=\"middle\">{}</text>",
            x + slot * 0.35,
            H - 6.0,
            m.month
        ));
    }
    frame(max, &body)
}

/// The guests still overdue after each run (a line), and those it
/// anonymized (dots), in the order the runs ended.
fn line(runs: &[Run]) -> String {
    let max = runs
        .iter()
        .map(|r| r.remaining.max(r.anonymized))
        .max()
        .unwrap_or(0)
        .max(1);
    let scale = (H - BOTTOM - 8.0) / max as f64;
    let step = (W - LEFT - 10.0) / (runs.len().max(2) - 1) as f64;
    let point = |i: usize, v: i64| (LEFT + 5.0 + step * i as f64, H - BOTTOM - v as f64 * scale);
    let points: Vec<String> = runs
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let (x, y) = point(i, r.remaining);
            format!("{x:.1},{y:.1}")
        })
        .collect();
    let mut body = format!(
        "<polyline points=\"{}\" fill=\"none\" stroke=\"#a94400\" stroke-width=\"2\"/>",
        points.join(" ")
    );
    for (i, r) in runs.iter().enumerate() {
        let (x, y) = point(i, r.anonymized);
        body.push_str(&format!(
            "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"2.5\" fill=\"#2f6db5\"/>"
        ));
    }
    if let (Some(first), Some(last)) = (runs.first(), runs.last()) {
        body.push_str(&format!(
            "<text x=\"{LEFT}\" y=\"{}\" font-size=\"10\">{}</text>\
             <text x=\"{W}\" y=\"{}\" font-size=\"10\" text-anchor=\"end\">{}</text>",
            H - 6.0,
            first.night,
            H - 6.0,
            last.night
        ));
    }
    frame(max, &body)
}
