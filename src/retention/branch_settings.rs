//! Per-branch settings: automatic deletion (off until switched on), who is
//! notified, and which notifications they get.

use deadpool_postgres::GenericClient;
use serde::Serialize;
use serde_json::json;

use super::{ensure_branch_exists, protocol};
use crate::error::{Error, Result};

/// The settings of one branch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BranchSettings {
    /// Branch.
    pub branch_id: i64,
    /// Branch name.
    pub branch_name: String,
    /// IANA time zone of the branch.
    pub time_zone: String,
    /// Nightly runs process this branch.
    pub auto_delete: bool,
    /// Who gets the branch's mails.
    pub notify_addresses: Vec<String>,
    /// Send the pending summary.
    pub notify_pending: bool,
    /// Send the completed summary.
    pub notify_completed: bool,
    /// Mail language for this branch (`de`/`en`); the global setting when unset.
    pub locale: Option<String>,
}

impl BranchSettings {
    /// A warning when notifications are switched on but nobody would receive them.
    pub fn warning(&self) -> Option<String> {
        (self.notify_addresses.is_empty() && (self.notify_pending || self.notify_completed)).then(
            || {
                format!(
                    "branch {} has no notification addresses: nobody gets its mails \
                 (retentiond settings set --branch {} --notify a@example.com)",
                    self.branch_id, self.branch_id
                )
            },
        )
    }
}

/// A partial change; `None` leaves a value as it is.
#[derive(Debug, Default)]
pub struct Update {
    /// New automatic deletion switch.
    pub auto_delete: Option<bool>,
    /// New address list (comma separated, as typed); empty clears it.
    pub notify: Option<String>,
    /// New pending toggle.
    pub notify_pending: Option<bool>,
    /// New completed toggle.
    pub notify_completed: Option<bool>,
    /// New locale; empty clears it.
    pub locale: Option<String>,
}

/// Splits and checks a comma-separated address list. A bad address is named
/// with its 1-based position.
pub fn parse_addresses(list: &str) -> Result<Vec<String>> {
    let mut out = Vec::new();
    if list.trim().is_empty() {
        return Ok(out);
    }
    for (i, raw) in list.split(',').enumerate() {
        let address = raw.trim();
        match address.parse::<lettre::message::Mailbox>() {
            Ok(m) if !address.is_empty() => out.push(m.to_string()),
            Ok(_) | Err(_) => {
                return Err(Error::Invalid(format!(
                    "notification address {} of {} ({address:?}) is not a valid mailbox: \
                     expected e.g. manager@example.com; nothing was saved",
                    i + 1,
                    list.split(',').count()
                )))
            }
        }
    }
    Ok(out)
}

/// Shortens an address for logs and the protocol: `m***@example.com`.
pub fn mask_address(address: &str) -> String {
    let bare = address
        .rsplit_once('<')
        .map(|(_, a)| a.trim_end_matches('>'))
        .unwrap_or(address);
    match bare.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".to_string(),
    }
}

/// Reads one branch's settings (defaults when never set).
pub async fn get(client: &impl GenericClient, branch_id: i64) -> Result<BranchSettings> {
    ensure_branch_exists(client, branch_id).await?;
    let mut all = list(client, Some(branch_id)).await?;
    Ok(all.remove(0))
}

/// Reads the settings of every branch (or one).
pub async fn list(
    client: &impl GenericClient,
    branch_id: Option<i64>,
) -> Result<Vec<BranchSettings>> {
    let rows = client
        .query(
            include_str!("../../sql/queries/list_branch_settings.sql"),
            &[&branch_id],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| BranchSettings {
            branch_id: r.get("branch_id"),
            branch_name: r.get("branch_name"),
            time_zone: r.get("time_zone"),
            auto_delete: r.get("auto_delete"),
            notify_addresses: r.get("notify_addresses"),
            notify_pending: r.get("notify_pending"),
            notify_completed: r.get("notify_completed"),
            locale: r.get("locale"),
        })
        .collect())
}

/// Applies a change and writes `settings_changed` with old and new values
/// (addresses masked) in the same transaction. Returns the new settings and
/// whether anything changed.
#[tracing::instrument(skip_all, fields(branch.id = branch_id))]
pub async fn update(
    client: &mut deadpool_postgres::Client,
    branch_id: i64,
    update: &Update,
    actor: &str,
) -> Result<(BranchSettings, bool)> {
    // Validate everything before touching the database.
    let addresses = update.notify.as_deref().map(parse_addresses).transpose()?;
    let locale = match update.locale.as_deref() {
        None => None,
        Some("") => Some(None),
        Some(l @ ("de" | "en")) => Some(Some(l.to_string())),
        Some(other) => {
            return Err(Error::Invalid(format!(
            "locale {other:?} is not supported: expected de or en (or \"\" for the global setting)"
        )))
        }
    };

    let tx = client.transaction().await?;
    ensure_branch_exists(&tx, branch_id).await?;
    tx.execute(
        "INSERT INTO retention.branch_settings (branch_id, updated_by) VALUES ($1, $2)
         ON CONFLICT (branch_id) DO NOTHING",
        &[&branch_id, &actor],
    )
    .await?;
    tx.execute(
        "SELECT 1 FROM retention.branch_settings WHERE branch_id = $1 FOR UPDATE",
        &[&branch_id],
    )
    .await?;
    let old = list(&tx, Some(branch_id)).await?.remove(0);
    let mut new = old.clone();
    if let Some(v) = update.auto_delete {
        new.auto_delete = v;
    }
    if let Some(v) = addresses {
        new.notify_addresses = v;
    }
    if let Some(v) = update.notify_pending {
        new.notify_pending = v;
    }
    if let Some(v) = update.notify_completed {
        new.notify_completed = v;
    }
    if let Some(v) = locale {
        new.locale = v;
    }
    if new == old {
        return Ok((old, false));
    }
    tx.execute(
        include_str!("../../sql/queries/update_branch_settings.sql"),
        &[
            &branch_id,
            &new.auto_delete,
            &new.notify_addresses,
            &new.notify_pending,
            &new.notify_completed,
            &new.locale,
            &actor,
        ],
    )
    .await?;
    protocol::append(
        &tx,
        &protocol::Entry {
            actor,
            action: "settings_changed",
            branch_id: Some(branch_id),
            details: diff(&old, &new),
            ..Default::default()
        },
    )
    .await?;
    tx.commit().await?;
    Ok((new, true))
}

fn diff(old: &BranchSettings, new: &BranchSettings) -> serde_json::Value {
    let mut changes = serde_json::Map::new();
    let mut put = |key: &str, o: serde_json::Value, n: serde_json::Value| {
        if o != n {
            changes.insert(key.to_string(), json!({ "old": o, "new": n }));
        }
    };
    put(
        "auto_delete",
        json!(old.auto_delete),
        json!(new.auto_delete),
    );
    put(
        "notify_pending",
        json!(old.notify_pending),
        json!(new.notify_pending),
    );
    put(
        "notify_completed",
        json!(old.notify_completed),
        json!(new.notify_completed),
    );
    put("locale", json!(old.locale), json!(new.locale));
    // Compared in full, recorded masked: the protocol holds no full addresses.
    if old.notify_addresses != new.notify_addresses {
        let masked = |a: &[String]| a.iter().map(|x| mask_address(x)).collect::<Vec<_>>();
        changes.insert(
            "notify_addresses".to_string(),
            json!({ "old": masked(&old.notify_addresses), "new": masked(&new.notify_addresses) }),
        );
    }
    serde_json::Value::Object(changes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_split_and_trimmed() {
        let a = parse_addresses("a@example.com, b@example.org").unwrap();
        assert_eq!(a, vec!["a@example.com", "b@example.org"]);
    }

    #[test]
    fn bad_address_is_named_with_its_position() {
        let e = parse_addresses("a@example.com,not-an-address,c@example.com").unwrap_err();
        let text = e.to_string();
        assert!(text.contains("address 2 of 3"), "{text}");
        assert!(text.contains("not-an-address"), "{text}");
    }

    #[test]
    fn empty_entry_in_the_list_is_rejected() {
        assert!(parse_addresses("a@example.com,,b@example.com").is_err());
    }

    #[test]
    fn masked_address_keeps_first_letter_and_domain() {
        assert_eq!(mask_address("manager@example.com"), "m***@example.com");
        assert_eq!(mask_address("Max <max@example.com>"), "m***@example.com");
    }
}
