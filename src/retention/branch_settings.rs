//! Per-branch settings: automatic deletion (off until switched on), who is
//! notified, and which notifications they get.

use serde_json::json;

use super::ensure_branch_exists;
use crate::address;
use crate::db::{self, GenericClient};
use crate::error::{Error, Result};
use crate::model::Locale;
use crate::notify::BranchMail;

pub use crate::db::branches::BranchSettings;

/// Whether notifications are switched on but nobody would receive them.
pub fn nobody_notified(s: &BranchSettings) -> bool {
    s.notify_addresses.is_empty() && (s.notify_pending || s.notify_completed)
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

impl Update {
    /// Whether the update changes nothing at all.
    pub fn is_empty(&self) -> bool {
        self.auto_delete.is_none()
            && self.notify.is_none()
            && self.notify_pending.is_none()
            && self.notify_completed.is_none()
            && self.locale.is_none()
    }
}

/// Reads one branch's settings (defaults when never set), in one statement:
/// a branch deleted meanwhile is an unknown branch, never a missing row.
pub async fn get(client: &impl GenericClient, branch_id: i64) -> Result<BranchSettings> {
    list(client, Some(branch_id))
        .await?
        .pop()
        .ok_or(Error::Refused(crate::error::Refusal::UnknownBranch(
            branch_id,
        )))
}

/// Reads the settings of every branch (or one).
pub async fn list(
    client: &impl GenericClient,
    branch_id: Option<i64>,
) -> Result<Vec<BranchSettings>> {
    db::branches::list_settings(client, branch_id).await
}

/// Applies a change and writes `settings_changed` with old and new values
/// (addresses masked) in the same transaction. Returns the new settings and
/// whether anything changed.
#[tracing::instrument(skip_all, fields(branch.id = branch_id))]
pub async fn update(
    client: &mut db::Object,
    branch_id: i64,
    update: &Update,
    actor: &str,
) -> Result<(BranchSettings, bool)> {
    // Validate everything before touching the database.
    let addresses = update
        .notify
        .as_deref()
        .map(address::parse_list)
        .transpose()?;
    let locale = match update.locale.as_deref() {
        None => None,
        Some("") => Some(None),
        Some(other) => match other.parse::<Locale>() {
            Ok(locale) => Some(Some(locale)),
            Err(_) => {
                return Err(Error::Invalid(format!(
                    "locale {other:?} is not supported: expected de or en (or \"\" for the \
                     global setting)"
                )))
            }
        },
    };

    let tx = client.transaction().await?;
    ensure_branch_exists(&tx, branch_id).await?;
    db::branches::lock_settings(&tx, branch_id, actor).await?;
    let old = get(&tx, branch_id).await?;
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
    db::branches::store_settings(&tx, &new, actor, &diff(&old, &new)).await?;
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
        let masked = |a: &[String]| a.iter().map(|x| address::mask(x)).collect::<Vec<_>>();
        changes.insert(
            "notify_addresses".to_string(),
            json!({ "old": masked(&old.notify_addresses), "new": masked(&new.notify_addresses) }),
        );
    }
    serde_json::Value::Object(changes)
}

/// Where and how a branch's mails go.
pub fn mail_target(s: &BranchSettings) -> BranchMail {
    BranchMail {
        branch_id: s.branch_id,
        branch_name: s.branch_name.clone(),
        time_zone: s.time_zone.clone(),
        locale: s.locale,
        recipients: s.notify_addresses.clone(),
    }
}
