//! Turning one raw settings value into a typed one, with a message that
//! names the key, the value and what is expected.

use std::str::FromStr;
use std::time::Duration;

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

pub(super) fn int(
    key: &str,
    raw: Option<&str>,
    default: u64,
    min: u64,
    max: u64,
) -> Result<u64, String> {
    let Some(raw) = raw else { return Ok(default) };
    match raw.trim().parse::<u64>() {
        Ok(v) if (min..=max).contains(&v) => Ok(v),
        _ => Err(format!(
            "{key} = {raw:?} is not valid: expected a whole number from {min} to {max}"
        )),
    }
}

/// Parses `200ms`, `0s`, `5m`, `1h 30m`; `allow_zero` says whether `0s` is meaningful.
pub(super) fn duration(
    key: &str,
    raw: Option<&str>,
    default: &str,
    allow_zero: bool,
) -> Result<Duration, String> {
    let raw = raw.unwrap_or(default);
    match humantime::parse_duration(raw.trim()) {
        Ok(d) if allow_zero || !d.is_zero() => Ok(d),
        Ok(_) => Err(format!(
            "{key} = {raw:?} is not valid: expected a duration greater than zero, such as 10s or 500ms"
        )),
        Err(_) => Err(format!(
            "{key} = {raw:?} is not a duration: expected a number with a unit, such as 200ms, 5s, 10m or 1h"
        )),
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
