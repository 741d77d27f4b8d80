//! `migrate`, `policy` and `settings`: the commands that change configuration.

use serde_json::json;

use super::output::{emit, print_json, Table};
use super::{invalid, ColumnsCommand, Context, Format, PolicyCommand, SettingsCommand, ShowArgs};
use crate::error::Result;
use crate::retention::branch_settings::{self, Update};
use crate::retention::policy::{self, Change, Source};
use crate::retention::summary::WINDOW_DAYS;
use crate::retention::{columns, schema, whatif};

/// `check-config`: the effective settings with secrets redacted.
pub fn check_config(cx: &Context, format: Format) -> Result<()> {
    let toml = cx.settings.to_redacted_toml();
    if format == Format::Table {
        print!("{toml}");
        return Ok(());
    }
    let doc: serde_json::Value = config::Config::builder()
        .add_source(config::File::from_str(&toml, config::FileFormat::Toml))
        .build()
        .and_then(|c| c.try_deserialize())
        .map_err(|e| crate::error::Error::cause("cannot render the settings as JSON", e))?;
    print_json(&doc)
}

pub async fn migrate(cx: &Context, format: Format) -> Result<()> {
    let report = schema::migrate(cx).await?;
    emit(
        format,
        json!({
            "from": report.from,
            "to": report.to,
            "applied": report.applied,
            "rules": report.rules,
        }),
        || {
            let schema = if report.applied.is_empty() {
                format!("schema is up to date (version {})", report.to)
            } else {
                format!(
                    "schema migrated from version {} to {} ({} migration(s) applied)",
                    report.from,
                    report.to,
                    report.applied.len()
                )
            };
            if report.rules.is_empty() {
                schema
            } else {
                format!("{schema}; rules applied: {}", report.rules.join(", "))
            }
        },
    )
}

pub async fn grant(cx: &Context, role: &str, format: Format) -> Result<()> {
    match schema::grant(cx, role).await {
        Ok(()) => emit(format, json!({"role": role, "granted": true}), || {
            format!(
                "role {role} may now run the daemon and the commands: it owns nothing, may only \
                 add to and read the protocol, and update only the guest columns anonymization \
                 writes"
            )
        }),
        Err(e) if e.sql_state() == Some(&tokio_postgres::error::SqlState::UNDEFINED_OBJECT) => {
            Err(invalid(format!(
                "role {role} does not exist: create it first (CREATE ROLE {role} LOGIN), then \
                 grant again"
            )))
        }
        Err(e) => Err(e),
    }
}

pub async fn policy(cx: &Context, cmd: PolicyCommand) -> Result<()> {
    let client = cx.client().await?;
    match cmd {
        PolicyCommand::Set {
            branch,
            guest_type,
            period,
            dry_run,
            actor,
            out,
        } => {
            let edit = policy::Edit::Set(&period);
            let outcome =
                whatif::change(cx, branch, guest_type, edit, &actor.resolve(), dry_run).await?;
            let (old, new) = match &outcome.change {
                Change::Set { old, new } => (old.clone(), Some(new.clone())),
                _ => (None, None),
            };
            let text = match (&old, &new) {
                (Some(old), Some(new)) => {
                    format!("branch {branch}, {guest_type}: period changed from {old} to {new}")
                }
                (None, Some(new)) => format!("branch {branch}, {guest_type}: period set to {new}"),
                _ => format!("branch {branch}, {guest_type}: period unchanged"),
            };
            let doc = json!({"branch_id": branch, "guest_type": guest_type,
                             "changed": new.is_some() && !dry_run, "old": old, "new": new});
            print_outcome(out.format, doc, &text, &outcome)?;
        }
        PolicyCommand::Unset {
            branch,
            guest_type,
            dry_run,
            actor,
            out,
        } => {
            let outcome = whatif::change(
                cx,
                branch,
                guest_type,
                policy::Edit::Unset,
                &actor.resolve(),
                dry_run,
            )
            .await?;
            let old = match &outcome.change {
                Change::Unset { old } => Some(old.clone()),
                _ => None,
            };
            let text = match &old {
                Some(old) => format!(
                    "branch {branch}, {guest_type}: own period {old} removed \
                     (`retentiond policy show --branch {branch}` shows what is in force now)"
                ),
                None => {
                    format!("branch {branch}, {guest_type}: had no own period, nothing changed")
                }
            };
            let doc = json!({"branch_id": branch, "guest_type": guest_type,
                             "changed": old.is_some() && !dry_run, "old": old});
            print_outcome(out.format, doc, &text, &outcome)?;
        }
        PolicyCommand::Show(ShowArgs { branch, format }) => {
            let policies = policy::effective(&client, branch).await?;
            if format == Format::Json {
                return print_json(&policies);
            }
            print_policies(&policies);
        }
    }
    Ok(())
}

fn print_policies(policies: &[policy::EffectivePolicy]) {
    let mut table = Table::new(&["BRANCH", "NAME", "TYPE", "PERIOD", "SOURCE"]);
    for p in policies {
        table.row(vec![
            p.branch_id.to_string(),
            p.branch_name.clone(),
            p.guest_type.to_string(),
            p.period.clone().unwrap_or_else(|| "-".to_string()),
            match p.source {
                Source::Own => "own".to_string(),
                Source::Inherited => format!(
                    "inherited from branch {}",
                    p.source_branch_id.unwrap_or_default()
                ),
                Source::NotConfigured => "not configured: never anonymized".to_string(),
            },
        ]);
    }
    if table.is_empty() {
        println!("no branches in the guest database");
    } else {
        print!("{}", table.render());
    }
}

pub async fn branch_settings(cx: &Context, cmd: SettingsCommand) -> Result<()> {
    let mut client = cx.client().await?;
    match cmd {
        SettingsCommand::Set {
            branch,
            auto_delete,
            notify,
            notify_pending,
            notify_completed,
            locale,
            actor,
            out,
        } => {
            let update = Update {
                auto_delete: auto_delete.map(|v| v.as_bool()),
                notify,
                notify_pending: notify_pending.map(|v| v.as_bool()),
                notify_completed: notify_completed.map(|v| v.as_bool()),
                locale,
            };
            if update.is_empty() {
                return Err(invalid(
                    "nothing to change: give at least one of --auto-delete, --notify, \
                     --notify-pending, --notify-completed, --locale",
                ));
            }
            let (new, changed) =
                branch_settings::update(&mut client, branch, &update, &actor.resolve()).await?;
            if out.format == Format::Json {
                return print_json(
                    &json!({"branch_id": branch, "changed": changed, "settings": new}),
                );
            }
            println!(
                "branch {branch}: settings {}",
                if changed { "changed" } else { "unchanged" }
            );
            print_settings(&[new]);
        }
        SettingsCommand::Show(ShowArgs { branch, format }) => {
            let all = match branch {
                Some(id) => vec![branch_settings::get(&client, id).await?],
                None => branch_settings::list(&client, None).await?,
            };
            if format == Format::Json {
                return print_json(&all);
            }
            print_settings(&all);
        }
    }
    Ok(())
}

fn print_settings(all: &[branch_settings::BranchSettings]) {
    let on = |b: bool| if b { "on" } else { "off" }.to_string();
    let mut table = Table::new(&[
        "BRANCH",
        "NAME",
        "AUTO-DELETE",
        "PENDING",
        "COMPLETED",
        "LOCALE",
        "NOTIFY",
    ]);
    for s in all {
        table.row(vec![
            s.branch_id.to_string(),
            s.branch_name.clone(),
            on(s.auto_delete),
            on(s.notify_pending),
            on(s.notify_completed),
            s.locale.map_or("default", |l| l.as_str()).to_string(),
            if s.notify_addresses.is_empty() {
                "-".to_string()
            } else {
                s.notify_addresses.join(", ")
            },
        ]);
    }
    print!("{}", table.render());
    for s in all.iter().filter(|s| branch_settings::nobody_notified(s)) {
        eprintln!(
            "warning: branch {} has no notification addresses: nobody gets its mails \
             (retentiond settings set --branch {} --notify a@example.com)",
            s.branch_id, s.branch_id
        );
    }
}

/// A policy change with what it does in each branch it reaches: the JSON
/// document gains `dry_run` and `branches`; the text a line per branch and
/// a warning where the next night's guard would stop the run.
fn print_outcome(
    format: Format,
    mut doc: serde_json::Value,
    text: &str,
    outcome: &whatif::Outcome,
) -> Result<()> {
    doc["dry_run"] = json!(outcome.dry_run);
    doc["branches"] = serde_json::to_value(&outcome.branches).unwrap_or_default();
    emit(format, doc, || {
        let mut out = if outcome.dry_run {
            format!("dry run, nothing changed: {text}")
        } else {
            text.to_string()
        };
        for e in &outcome.branches {
            let nights = e
                .nights
                .map_or("unknown (no completed run yet)".to_string(), |n| {
                    n.to_string()
                });
            out.push_str(&format!(
                "\n  branch {}: overdue {} -> {}, due within {WINDOW_DAYS} days {} -> {}, \
                 blocked {} -> {}; nights for the backlog: {nights}",
                e.branch_id,
                e.overdue.before,
                e.overdue.after,
                e.due_soon.before,
                e.due_soon.after,
                e.blocked.before,
                e.blocked.after,
            ));
            if e.guard_stops {
                out.push_str(&format!(
                    "\n  warning: the next night's guard stops branch {}'s run ({} of {} guests \
                     not yet anonymized would go); confirm with `retentiond run --branch {}`",
                    e.branch_id, e.overdue.after, e.not_anonymized, e.branch_id
                ));
            }
        }
        out
    })
}

/// `columns show` and `columns set`.
pub async fn columns(cx: &Context, cmd: &ColumnsCommand) -> Result<()> {
    let mut client = cx.client().await?;
    match cmd {
        ColumnsCommand::Show { format } => {
            let list = columns::show(&client).await?;
            if *format == Format::Json {
                return print_json(&list);
            }
            let mut t = Table::new(&["COLUMN", "TYPE", "NULL", "HANDLING", "DECIDED BY"]);
            for c in &list {
                t.row(vec![
                    c.name(),
                    c.data_type.clone(),
                    if c.nullable { "yes" } else { "no" }.into(),
                    c.handling.clone(),
                    match (&c.decided_by, &c.decided_login) {
                        (Some(by), Some(login)) => format!("{by} ({login})"),
                        _ => "-".into(),
                    },
                ]);
            }
            print!("{}", t.render());
            let open = list.iter().filter(|c| c.handling == "unclassified").count();
            if open > 0 {
                println!(
                    "{open} column(s) unclassified: decide with `retentiond columns set --column \
                     TABLE.COLUMN --handling anonymize|keep`"
                );
            }
            Ok(())
        }
        ColumnsCommand::Set {
            column,
            handling,
            actor,
            out,
        } => {
            let before =
                columns::set(&mut client, column, handling.as_str(), &actor.resolve()).await?;
            let new = handling.as_str();
            emit(
                out.format,
                json!({"column": column, "old": before, "new": new}),
                || format!("{column}: {before} -> {new}"),
            )
        }
    }
}
