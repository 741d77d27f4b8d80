//! The parsers of command-line values that are not plain strings or
//! numbers: each error names the value and an example that works.

use chrono::{DateTime, NaiveDate, Utc};
use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};

use crate::model::{Action, GuestType, Locale};

/// `--type`: the guest types, listed in `--help` and completions.
pub fn guest_type() -> impl TypedValueParser<Value = GuestType> {
    PossibleValuesParser::new(GuestType::ALL.iter().map(|t| t.as_str()))
        .map(|s| s.parse::<GuestType>().expect("one of the listed names"))
}

/// `--action` of `protocol`: the protocol's actions.
pub fn action() -> PossibleValuesParser {
    PossibleValuesParser::new(Action::ALL.iter().map(|a| a.as_str()))
}

/// `--locale`: `de`, `en`, or `default` (also `""`) for the global setting.
pub fn locale() -> impl TypedValueParser<Value = String> {
    PossibleValuesParser::new([
        PossibleValue::new("de"),
        PossibleValue::new("en"),
        PossibleValue::new("default").help("the global mail.locale"),
        PossibleValue::new("").hide(true),
    ])
    .map(|s| if s == "default" { String::new() } else { s })
}

/// `--locale` of `report`: `de` or `en`.
pub fn report_locale() -> impl TypedValueParser<Value = Locale> {
    PossibleValuesParser::new(Locale::ALL.iter().map(|l| l.as_str()))
        .map(|s| s.parse::<Locale>().expect("one of the listed names"))
}

/// Parses RFC 3339 (`2026-11-25T02:30:00+01:00`) or a date (midnight UTC).
pub fn parse_instant(s: &str) -> std::result::Result<DateTime<Utc>, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(d.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc());
    }
    Err(format!(
        "{s:?} is not a time: expected YYYY-MM-DD or RFC 3339 such as 2026-11-25T02:30:00+01:00"
    ))
}

pub(super) fn parse_window(s: &str) -> std::result::Result<chrono::Duration, String> {
    // a report window beyond a century is a typo, and would overflow dates
    const MAX_DAYS: i64 = 36_500;
    humantime::parse_duration(s)
        .ok()
        .and_then(|d| chrono::Duration::from_std(d).ok())
        .filter(|d| *d > chrono::Duration::zero())
        .ok_or_else(|| format!("{s:?} is not a window: expected e.g. 14d, 30d or 48h"))
        .and_then(|d| {
            if d > chrono::Duration::days(MAX_DAYS) {
                Err(format!(
                    "{s:?} is too long a window: expected at most {MAX_DAYS}d"
                ))
            } else {
                Ok(d)
            }
        })
}

/// The longest `run --wait`: a branch busy for more than a day needs a person.
const MAX_WAIT: std::time::Duration = std::time::Duration::from_secs(24 * 3600);
/// The longest `run --window`: a week of batches.
const MAX_RUN_WINDOW: std::time::Duration = std::time::Duration::from_secs(7 * 24 * 3600);

pub(super) fn parse_wait(s: &str) -> std::result::Result<std::time::Duration, String> {
    let wait = humantime::parse_duration(s)
        .map_err(|_| format!("{s:?} is not a duration: expected e.g. 0s, 60s or 5m"))?;
    at_most(s, wait, MAX_WAIT)
}

pub(super) fn parse_duration(s: &str) -> std::result::Result<std::time::Duration, String> {
    let window = humantime::parse_duration(s)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| format!("{s:?} is not a duration: expected e.g. 30m or 2h"))?;
    at_most(s, window, MAX_RUN_WINDOW)
}

fn at_most(
    s: &str,
    value: std::time::Duration,
    limit: std::time::Duration,
) -> std::result::Result<std::time::Duration, String> {
    if value > limit {
        Err(format!(
            "{s:?} is too long: at most {}",
            humantime::format_duration(limit)
        ))
    } else {
        Ok(value)
    }
}
