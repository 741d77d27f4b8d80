//! `[database]`: the guest database's URL and password file, the pool, and
//! the role that owns retentiond's objects.

use std::path::PathBuf;
use std::time::Duration;

use super::keys::key;
use super::parse::{database_url, duration, int, non_empty, secret_file};
use super::raw::RawDatabase;
use super::validate::Problems;
use super::{DatabaseSettings, TlsSettings};

pub(super) fn database(raw: RawDatabase, p: &mut Problems) -> Option<DatabaseSettings> {
    let url = raw.url.unwrap_or_default();
    let (mut config, tls) = match p.take(database_url(&url).map(Some), None) {
        Some((config, tls)) => (Some(config), tls),
        None => (None, TlsSettings::default()),
    };
    let password_file = non_empty(raw.password_file).map(PathBuf::from);
    if let Some(path) = &password_file {
        // the package ships an empty file: no password then (peer or trust auth)
        if let Some(password) = p
            .take(secret_file("database.password_file", path).map(Some), None)
            .filter(|p| !p.is_empty())
        {
            if let Some(c) = config.as_mut() {
                c.password(password);
            }
        }
    }
    let pool_size = p.take(pool_size(raw.pool_size.as_deref()), 4);
    let connect_timeout = p.take(
        duration(
            key("database.connect_timeout"),
            raw.connect_timeout.as_deref(),
        ),
        Duration::from_secs(10),
    );
    let owner_role = p.take(owner_role(raw.owner_role), OWNER_ROLE.to_string());
    Some(DatabaseSettings {
        config: config?,
        tls,
        password_file,
        url,
        pool_size: pool_size as usize,
        connect_timeout,
        owner_role,
    })
}

/// The default of `database.owner_role`.
pub const OWNER_ROLE: &str = "retentiond_owner";

fn owner_role(raw: Option<String>) -> Result<String, String> {
    let Some(name) = non_empty(raw) else {
        return Ok(OWNER_ROLE.to_string());
    };
    if name.len() > 63 || name.chars().any(|c| c.is_control()) {
        return Err(format!(
            "database.owner_role = {name:?} is not a role name: expected at most 63 bytes \
             without control characters (default {OWNER_ROLE})"
        ));
    }
    Ok(name)
}

fn pool_size(raw: Option<&str>) -> Result<u64, String> {
    if raw.map(str::trim) == Some("1") {
        return Err(
            "database.pool_size = \"1\" is too small: a run keeps one connection for its \
                  branch locks while the daemon and the mails need another; expected 2 to 64"
                .to_string(),
        );
    }
    int(key("database.pool_size"), raw)
}
