//! Mail templates: handlebars in strict mode, embedded in the binary and
//! overridable file by file from `mail.template_dir`. Each mail is a subject,
//! a plain-text part and an HTML part, in German or English.

use std::path::Path;

use handlebars::Handlebars;
use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::model::{BlockReason, GuestType, RunKind, RunStatus};

/// The mail kinds with templates.
pub const KINDS: [&str; 3] = ["pending", "completed", "test"];
/// The languages with templates.
pub const LOCALES: [&str; 2] = ["de", "en"];

macro_rules! embedded {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../../templates/", $name, ".hbs")))),*]
    };
}

/// The built-in templates, by name (file name without `.hbs`).
const EMBEDDED: &[(&str, &str)] = embedded!(
    "pending.de.subject",
    "pending.de.txt",
    "pending.de.html",
    "pending.en.subject",
    "pending.en.txt",
    "pending.en.html",
    "completed.de.subject",
    "completed.de.txt",
    "completed.de.html",
    "completed.en.subject",
    "completed.en.txt",
    "completed.en.html",
    "test.de.subject",
    "test.de.txt",
    "test.de.html",
    "test.en.subject",
    "test.en.txt",
    "test.en.html",
);

/// Partials of the HTML parts.
const PARTIALS: &[(&str, &str)] = embedded!("layout.html", "days.html");

/// Partials of every part: the names of types, statuses, kinds and
/// blockers in each language (`{{> labels_de type}}`).
const LABELS: &[(&str, &str)] = embedded!("labels.de", "labels.en");

/// A rendered mail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    /// One line.
    pub subject: String,
    /// The plain-text part.
    pub text: String,
    /// The HTML part.
    pub html: String,
}

/// The compiled templates.
#[derive(Debug)]
pub struct Templates {
    text: Handlebars<'static>,
    html: Handlebars<'static>,
}

impl Templates {
    /// Compiles the embedded templates, replacing each one for which
    /// `dir` holds a file of the same name (`pending.de.html.hbs`, …), and
    /// renders every template once with sample data, so that a mistake in
    /// an override is found at start-up, not at 07:00.
    pub fn load(dir: Option<&Path>) -> Result<Templates> {
        let mut text = Handlebars::new();
        text.set_strict_mode(true);
        text.register_escape_fn(handlebars::no_escape);
        let mut html = Handlebars::new();
        html.set_strict_mode(true);
        for (name, builtin) in EMBEDDED.iter().chain(PARTIALS).chain(LABELS) {
            let source = match dir.map(|d| d.join(format!("{name}.hbs"))) {
                Some(path) if path.is_file() => std::fs::read_to_string(&path).map_err(|e| {
                    Error::io(format!("cannot read template {}", path.display()), e)
                })?,
                _ => builtin.to_string(),
            };
            let bad = |e: handlebars::TemplateError| {
                Error::Invalid(format!(
                    "mail template {name}.hbs does not compile: {e}; fix it in mail.template_dir \
                     or remove the file to use the built-in one"
                ))
            };
            if LABELS.iter().any(|(p, _)| p == name) {
                let partial = name.replace('.', "_");
                text.register_partial(&partial, source.clone())
                    .map_err(bad)?;
                html.register_partial(&partial, source).map_err(bad)?;
            } else if PARTIALS.iter().any(|(p, _)| p == name) {
                html.register_partial(name.trim_end_matches(".html"), source)
                    .map_err(bad)?;
            } else if name.ends_with(".html") {
                html.register_template_string(name, source).map_err(bad)?;
            } else {
                text.register_template_string(name, source).map_err(bad)?;
            }
        }
        let templates = Templates { text, html };
        for kind in KINDS {
            for locale in LOCALES {
                templates.render(kind, locale, &sample(kind))?;
            }
        }
        Ok(templates)
    }

    /// Renders one mail; `locale` falls back to German when unknown.
    pub fn render(&self, kind: &str, locale: &str, data: &Value) -> Result<Rendered> {
        let locale = if LOCALES.contains(&locale) {
            locale
        } else {
            "de"
        };
        let fail = |part: &str, e: handlebars::RenderError| {
            Error::cause(
                format!("cannot render mail template {kind}.{locale}.{part}"),
                e,
            )
        };
        let subject = self
            .text
            .render(&format!("{kind}.{locale}.subject"), data)
            .map_err(|e| fail("subject", e))?;
        Ok(Rendered {
            subject: subject.split_whitespace().collect::<Vec<_>>().join(" "),
            text: self
                .text
                .render(&format!("{kind}.{locale}.txt"), data)
                .map_err(|e| fail("txt", e))?,
            html: self
                .html
                .render(&format!("{kind}.{locale}.html"), data)
                .map_err(|e| fail("html", e))?,
        })
    }
}

/// Data of the shape each kind's templates get (for the start-up check).
pub fn sample(kind: &str) -> Value {
    let branch = json!({"id": 1, "name": "Zentrale"});
    match kind {
        "pending" => json!({
            "branch": branch,
            "date": "2026-11-25",
            "window_days": 14,
            "auto_delete": false,
            "missed_night": "24.11.2026",
            "expired_holds": [{"id": 2, "until": "2026-11-30"}],
            "paused_until": "2026-11-28 06:00",
            "unclassified_columns": ["guests.allergies"],
            "restored_overdue": 4,
            "types": [{"type": GuestType::Guest, "overdue": 3, "due_soon": 2}],
            "overdue_total": 3,
            "due_total": 2,
            "fiscal": {"overdue": 1, "due_soon": 0},
            "fiscal_total": 1,
            "unsubscriptions": 1,
            "blocked": [{"reason": BlockReason::UnpaidInvoice, "guests": 1}],
            "not_configured": [{"type": GuestType::NewsletterSubscriber}, {"type": GuestType::CompanyGuest}],
            "days": [{"date": "25.11.", "count": 2, "width": 100, "bar": "##"}],
            "erasure_overdue": [{"request_id": 3, "days_open": 15}],
        }),
        "completed" => json!({
            "branch": branch,
            "run_id": 7,
            "status": RunStatus::Completed,
            "kind": RunKind::Scheduled,
            "started": "2026-11-25 02:30",
            "duration": "3 s",
            "rows": [{"type": GuestType::Guest, "anonymized": 3, "unsubscribed": 1, "fiscal_erased": 0}],
            "anonymized_total": 3,
            "unsubscribed_total": 1,
            "fiscal_total": 0,
            "remaining": 0,
            "held": {"candidates": 900, "not_anonymized": 1000, "guard_percent": 10},
            "error": null,
        }),
        _ => json!({"date": "2026-11-25 07:00 UTC", "transport": "smtp"}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_renders_in_both_languages() {
        let t = Templates::load(None).unwrap();
        let de = t.render("completed", "de", &sample("completed")).unwrap();
        let en = t.render("completed", "en", &sample("completed")).unwrap();
        assert!(
            de.subject.starts_with("Löschlauf Zentrale: 3 anonymisiert"),
            "{}",
            de.subject
        );
        assert!(
            en.subject
                .starts_with("Deletion run Zentrale: 3 anonymized"),
            "{}",
            en.subject
        );
        assert!(de.text.contains("retentiond run --branch 1") && de.html.contains("<table"));
        let p = t.render("pending", "en", &sample("pending")).unwrap();
        assert!(p.text.contains("Automatic deletion is off"), "{}", p.text);
        assert!(
            p.html.contains("bgcolor=\"#2f6db5\""),
            "bars are table cells"
        );
    }

    #[test]
    fn names_become_labels_of_the_mail_language() {
        let t = Templates::load(None).unwrap();
        let de = t.render("pending", "de", &sample("pending")).unwrap();
        assert!(
            de.text.contains("  Newsletter-Abonnent\n  Firmengast\n"),
            "one label per line: {}",
            de.text
        );
        assert!(
            de.text.contains("1 Gäste: unbezahlte Rechnung"),
            "{}",
            de.text
        );
        assert!(de.html.contains("<td>Gast</td>"), "{}", de.html);
        let en = t.render("completed", "en", &sample("completed")).unwrap();
        assert!(en.text.contains("): completed\n"), "{}", en.text);
        assert!(en.text.contains("nightly run"), "{}", en.text);
        assert!(en.text.contains("  Guest: 3 anonymized"), "{}", en.text);
    }

    #[test]
    fn html_is_escaped_and_text_is_not() {
        let t = Templates::load(None).unwrap();
        let mut data = sample("pending");
        data["branch"]["name"] = json!("Bar & Grill <Nord>");
        let r = t.render("pending", "de", &data).unwrap();
        assert!(r.html.contains("Bar &amp; Grill &lt;Nord&gt;"));
        assert!(r.text.contains("Bar & Grill <Nord>"));
    }

    #[test]
    fn strict_mode_rejects_missing_data() {
        let t = Templates::load(None).unwrap();
        let mut data = sample("completed");
        data.as_object_mut().unwrap().remove("anonymized_total");
        let e = t.render("completed", "de", &data).unwrap_err().to_string();
        assert!(e.contains("completed.de"), "{e}");
    }

    #[test]
    fn a_directory_overrides_single_templates() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("test.en.subject.hbs"),
            "Hello from {{transport}}",
        )
        .unwrap();
        let t = Templates::load(Some(dir.path())).unwrap();
        let r = t.render("test", "en", &sample("test")).unwrap();
        assert_eq!(r.subject, "Hello from smtp");
        assert!(r.text.contains("arrived"), "the other parts stay built in");
    }

    #[test]
    fn a_broken_override_is_a_clear_error_at_load() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pending.de.txt.hbs"), "{{#if}}").unwrap();
        let e = Templates::load(Some(dir.path())).unwrap_err().to_string();
        assert!(e.contains("pending.de.txt.hbs"), "{e}");
        std::fs::write(dir.path().join("pending.de.txt.hbs"), "{{no_such_field}}").unwrap();
        let e = Templates::load(Some(dir.path())).unwrap_err().to_string();
        assert!(e.contains("pending.de.txt"), "{e}");
    }
}
