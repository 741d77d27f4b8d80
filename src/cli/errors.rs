//! Errors as one JSON object on stderr when the command asked for JSON
//! (`--format json`): `error` (with the hint people get), `exit_code`,
//! `kind`, and the `argument` or the `settings` keys where there are some.

use serde_json::{json, Value};

use crate::error::Error;

/// Whether the command line asks for JSON output (`--format json`,
/// `--format=json`, or `ndjson`).
pub fn wants_json(args: impl IntoIterator<Item = std::ffi::OsString>) -> bool {
    let args: Vec<String> = args
        .into_iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    args.iter().enumerate().any(|(i, a)| {
        let value = match a.strip_prefix("--format=") {
            Some(v) => Some(v),
            None if a == "--format" => args.get(i + 1).map(String::as_str),
            None => None,
        };
        matches!(value, Some("json" | "ndjson"))
    })
}

/// The JSON form of an error of ours.
pub fn error_json(e: &Error) -> Value {
    let kind = match e {
        Error::Settings(_) => "settings",
        Error::Invalid(_) => "invalid",
        Error::Refused(_) => "refused",
        Error::Schema(_) => "schema",
        Error::Db { .. } => "database",
        Error::Corrupt { .. } => "internal",
        Error::Pool(_) => "database_unavailable",
        Error::Io { .. } => "io",
        Error::Cause { .. } | Error::Failed(_) => "failed",
        Error::Attention(_) => "attention",
        Error::Tampered(_) => "tampered",
    };
    let mut doc = json!({
        "error": super::describe(e),
        "exit_code": e.exit_code(),
        "kind": kind,
    });
    match e {
        Error::Settings(problems) => {
            doc["settings"] = problems
                .0
                .iter()
                .map(|p| json!({"key": settings_key(p), "error": p}))
                .collect();
        }
        Error::Invalid(message) => {
            if let Some(arg) = message
                .split_whitespace()
                .next()
                .filter(|w| w.starts_with("--"))
            {
                doc["argument"] = json!(arg);
            }
        }
        _ => {}
    }
    doc
}

/// The JSON form of a command-line error clap found (exit 2): the message
/// without clap's usage lines, and the argument it is about.
pub fn usage_json(e: &clap::Error) -> Value {
    use clap::error::{ContextKind, ContextValue};
    let mut doc = json!({
        "error": usage_message(&e.to_string()),
        "exit_code": 2,
        "kind": "usage",
    });
    // "--type <TYPE>": the option's name
    let name = |arg: &str| arg.split_whitespace().next().unwrap_or(arg).to_string();
    match e.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(arg)) => doc["argument"] = json!(name(arg)),
        // the required arguments not given: the first, as the others name one
        Some(ContextValue::Strings(args)) if !args.is_empty() => {
            doc["argument"] = json!(name(&args[0]));
            if args.len() > 1 {
                doc["arguments"] = args.iter().map(|a| name(a)).collect();
            }
        }
        _ => {}
    }
    if let Some(ContextValue::String(value)) = e.get(ContextKind::InvalidValue) {
        doc["value"] = json!(value);
    }
    doc
}

/// clap's message up to its usage lines, on one line: "the following
/// required arguments were not provided: --guest <GUEST>".
fn usage_message(text: &str) -> String {
    let first = text
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ");
    first.strip_prefix("error: ").unwrap_or(&first).to_string()
}

/// The key a settings problem is about: every message starts with it.
fn settings_key(problem: &str) -> Option<&str> {
    let word = problem.split([' ', ':']).next()?;
    let (section, key) = word.split_once('.')?;
    let name = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_lowercase() || c == '_');
    (name(section) && name(key)).then_some(word)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_asked_for_in_every_spelling() {
        let args = |a: &[&str]| a.iter().map(std::ffi::OsString::from).collect::<Vec<_>>();
        assert!(wants_json(args(&[
            "retentiond",
            "status",
            "--format",
            "json"
        ])));
        assert!(wants_json(args(&[
            "retentiond",
            "protocol",
            "--format=ndjson"
        ])));
        assert!(!wants_json(args(&[
            "retentiond",
            "status",
            "--format",
            "table"
        ])));
        assert!(!wants_json(args(&["retentiond", "status"])));
    }

    #[test]
    fn a_usage_message_keeps_what_follows_its_colon() {
        assert_eq!(
            usage_message(
                "error: the following required arguments were not provided:\n  --guest <GUEST>\n\n\
                 Usage: retentiond classify --guest <GUEST>\n"
            ),
            "the following required arguments were not provided: --guest <GUEST>"
        );
    }

    #[test]
    fn a_settings_problem_names_its_key() {
        assert_eq!(
            settings_key("database.url is not set: expected"),
            Some("database.url")
        );
        assert_eq!(
            settings_key("batch.size = \"0\" is not valid"),
            Some("batch.size")
        );
        assert_eq!(settings_key("unknown field `x`"), None);
    }
}
