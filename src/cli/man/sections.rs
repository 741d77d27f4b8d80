//! The sections every page shares: an option's entry, EXIT STATUS,
//! ENVIRONMENT, FILES, EXAMPLES and SEE ALSO.

use clap::Arg;

use super::roff::{bold, italic, Roff};
use super::{allowed, sentence, value};
use crate::cli::args::pages;

/// An option: its usage, what it does, its allowed values and default.
pub(super) fn option(r: &mut Roff, arg: &Arg) {
    let mut tag = match (arg.get_short(), arg.get_long()) {
        (Some(s), Some(l)) => format!("{}, {}", bold(&format!("-{s}")), bold(&format!("--{l}"))),
        (None, Some(l)) => bold(&format!("--{l}")),
        _ => String::new(),
    };
    if let Some((_, v)) = value(arg) {
        if !tag.is_empty() {
            tag.push(' ');
        }
        tag.push_str(&v);
    }
    r.request("TP", &[]);
    r.formatted(&tag);
    let help = arg
        .get_long_help()
        .or(arg.get_help())
        .map(|h| h.to_string())
        .unwrap_or_default();
    r.paragraphs(&sentence(&help));
    let defaults: Vec<String> = arg
        .get_default_values()
        .iter()
        .map(|d| d.to_string_lossy().into_owned())
        .collect();
    if !defaults.is_empty() && arg.get_action().takes_values() {
        r.formatted(&format!("Default: {}.", bold(&defaults.join(" "))));
    }
    if let Some(env) = arg.get_env() {
        r.formatted(&format!("Also set by {}.", bold(&env.to_string_lossy())));
    }
    let words = allowed(arg);
    if words.iter().any(|(_, h)| h.is_some()) {
        r.request("RS", &[]);
        for (w, h) in &words {
            r.item(&bold(w), &sentence(h.as_deref().unwrap_or_default()));
        }
        r.request("RE", &[]);
    } else if !words.is_empty() {
        let list: Vec<String> = words.iter().map(|(w, _)| bold(w)).collect();
        r.formatted(&format!("One of: {}.", list.join(", ")));
    }
}

pub(super) fn exit_status(r: &mut Roff, command: &str) {
    r.section("EXIT STATUS");
    for (code, meaning) in pages::exit_codes(command) {
        r.item(&bold(&code.to_string()), &sentence(meaning));
    }
}

/// ENVIRONMENT: what every command reads, and what the actor's label and
/// the daemon read.
pub(super) fn environment(r: &mut Roff, actor: bool, daemon: bool) {
    r.section("ENVIRONMENT");
    r.item(
        &bold("RETENTIOND_CONFIG"),
        "The settings file, as --config.",
    );
    r.item(
        &format!(
            "{}{}{}{}",
            bold("RETENTIOND__"),
            italic("SECTION"),
            bold("__"),
            italic("KEY")
        ),
        "A setting, over the file's value: RETENTIOND__DATABASE__URL is database.url. Every \
         key is listed in retentiond.toml(5).",
    );
    r.item(
        &bold("RUST_LOG"),
        "A tracing filter that wins over log.level.",
    );
    if actor {
        r.item(
            &format!("{}, {}", bold("SUDO_USER"), bold("USER")),
            "The label recorded in the action protocol when --actor is not given.",
        );
    }
    if daemon {
        r.item(
            &format!("{}, {}", bold("NOTIFY_SOCKET"), bold("WATCHDOG_USEC")),
            "Set by systemd: where READY=1, STATUS=, WATCHDOG=1 and STOPPING=1 go, and the \
             watchdog's interval.",
        );
        r.item(
            &bold("JOURNAL_STREAM"),
            "Set by systemd: with log.format auto the daemon then writes the journal's own \
             protocol, with priorities and fields such as RUN_ID and BRANCH_ID.",
        );
    }
}

pub(super) fn files(r: &mut Roff, daemon: bool) {
    r.section("FILES");
    r.item(
        &italic("/etc/retentiond/retentiond.toml"),
        "The settings, when --config is not given (a missing file is fine: the defaults and \
         the environment then). See retentiond.toml(5).",
    );
    r.item(
        &italic("/etc/retentiond/INSTANCE.toml"),
        "The settings of one daemon of the template unit retentiond@INSTANCE.service, one \
         per database on a host.",
    );
    if daemon {
        r.item(
            &format!(
                "{}, {}",
                italic("/etc/retentiond/db-password"),
                italic("/etc/retentiond/smtp-password")
            ),
            "The database and SMTP passwords, handed to the daemon by systemd \
             (LoadCredential=); INSTANCE.db-password and INSTANCE.smtp-password for an \
             instance.",
        );
        r.item(
            &italic("/usr/share/retentiond/prometheus/alerts.yml"),
            "Prometheus alert rules for the metrics of metrics.listen.",
        );
    }
}

pub(super) fn examples(r: &mut Roff, command: &str) {
    if let Some(page) = pages::page(command).filter(|p| !p.examples.is_empty()) {
        r.section("EXAMPLES");
        r.verbatim(page.examples.iter().copied());
    }
}

pub(super) fn see_also(r: &mut Roff, pages: &[String]) {
    r.section("SEE ALSO");
    let refs: Vec<String> = pages
        .iter()
        .map(|p| match p.split_once('(') {
            Some((name, rest)) => format!("{}({rest}", bold(name)),
            None => bold(p),
        })
        .collect();
    r.formatted(&refs.join(", "));
}
