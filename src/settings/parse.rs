//! Turning one raw settings value into a typed one, with a message that
//! names the key, the value and what is expected.

use std::str::FromStr;
use std::time::Duration;

use super::keys::{short, Key, Kind};
use super::{split_tls, RootCerts, SslMode, TlsSettings};

pub(super) fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|s| !s.trim().is_empty())
}

/// The secret in a file (a trailing newline is not part of it); the
/// message names the file, never its content.
pub(super) fn secret_file(key: &str, path: &std::path::Path) -> Result<String, String> {
    std::fs::read_to_string(path)
        .map(|s| s.trim_end_matches(['\r', '\n']).to_string())
        .map_err(|e| {
            format!(
                "{key} = {:?} cannot be read ({e}): expected a file that holds the password{}",
                path.display(),
                permission_hint(&e)
            )
        })
}

/// What to do when a settings file is not ours to read: on a packaged
/// install the settings and the database password belong to the group
/// `retentiond`.
pub(super) fn permission_hint(e: &std::io::Error) -> &'static str {
    if e.kind() == std::io::ErrorKind::PermissionDenied {
        ". Run as root, or as a member of the file's group: on a packaged install \
         `sudo adduser $USER retentiond`, then log in again"
    } else {
        ""
    }
}

/// A whole number in the key's range, or the key's default when not given.
pub(super) fn int(k: &Key, raw: Option<&str>) -> Result<u64, String> {
    let Kind::Integer { min, max } = k.kind else {
        panic!("{} is not a whole-number key", k.name)
    };
    let raw = match raw {
        Some(raw) => raw,
        None => k.default.unwrap_or_default(),
    };
    match raw.trim().parse::<u64>() {
        Ok(v) if (min..=max).contains(&v) => Ok(v),
        _ => Err(format!(
            "{} = {raw:?} is not valid: expected a whole number from {min} to {max}",
            k.name
        )),
    }
}

/// `true` or `false`, or the key's default when not given.
pub(super) fn boolean(k: &Key, raw: Option<&str>) -> Result<bool, String> {
    let Kind::Boolean = k.kind else {
        panic!("{} is not a boolean key", k.name)
    };
    let raw = raw.or(k.default).unwrap_or_default();
    match raw.trim() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(format!(
            "{} = {raw:?} is not valid: expected true or false",
            k.name
        )),
    }
}

/// Parses `200ms`, `0s`, `5m`, `1h 30m` within the key's range, or the
/// key's default when not given.
pub(super) fn duration(k: &Key, raw: Option<&str>) -> Result<Duration, String> {
    let Kind::Duration { min, max } = k.kind else {
        panic!("{} is not a duration key", k.name)
    };
    let key = k.name;
    let raw = raw.or(k.default).unwrap_or_default();
    let d = humantime::parse_duration(raw.trim()).map_err(|_| {
        format!(
            "{key} = {raw:?} is not a duration: expected a number with a unit, such as 200ms, \
             5s, 10m or 1h"
        )
    })?;
    let at_least_one = min <= Duration::from_nanos(1);
    match max {
        _ if d.is_zero() && !min.is_zero() && at_least_one => Err(format!(
            "{key} = {raw:?} is not valid: expected a duration greater than zero, such as 10s or 500ms"
        )),
        Some(max) if !at_least_one && (d < min || d > max) => Err(format!(
            "{key} = {raw:?} is out of range: expected {} to {}",
            short(min),
            short(max)
        )),
        Some(max) if d > max => Err(format!(
            "{key} = {raw:?} is too long: expected at most {}",
            short(max)
        )),
        _ => Ok(d),
    }
}

pub(super) fn database_url(url: &str) -> Result<(tokio_postgres::Config, TlsSettings), String> {
    if url.trim().is_empty() {
        return Err(
            "database.url is not set: expected a PostgreSQL URL such as \
                    postgres://retentiond@localhost/guests, in the config file or as \
                    RETENTIOND__DATABASE__URL"
                .to_string(),
        );
    }
    // the string may hold a password: it is never quoted back
    let (rest, tls) = split_tls(url)?;
    let mut config = tokio_postgres::Config::from_str(&rest).map_err(|e| {
        format!(
            "database.url is not a valid PostgreSQL connection string ({e}): expected e.g. \
             postgres://user@host:5432/dbname"
        )
    })?;
    config.ssl_mode(tls.driver_mode());
    if let RootCerts::File(path) = &tls.roots {
        if tls.mode != SslMode::Disable && !path.is_file() {
            return Err(format!(
                "database.url has sslrootcert={}, which is not a readable file: give the PEM \
                 file of the CA that signed the server's certificate, or sslrootcert=system",
                path.display()
            ));
        }
    }
    Ok((config, tls))
}

pub(super) fn metrics_listen(raw: Option<&str>) -> Result<Option<std::net::SocketAddr>, String> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(text) => text.parse().map(Some).map_err(|_| {
            format!(
                "metrics.listen = {text:?} is not an address to listen on: expected IP:PORT \
                 such as 127.0.0.1:9464 (or leave it empty: no metrics endpoint)"
            )
        }),
    }
}
