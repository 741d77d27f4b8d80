//! The manual pages, written from the clap definitions (synopsis, options,
//! allowed values, defaults), the examples and exit codes of
//! [`pages`](super::args::pages) and the settings keys, so that they list
//! exactly what the binary accepts: retentiond(1), one page per command,
//! and retentiond.toml(5).

mod roff;
mod sections;
mod settings;

use clap::{Arg, Command, CommandFactory};

use super::Cli;
use roff::{bold, escape, italic, Roff};
use sections::{environment, examples, exit_status, files, option, see_also};

/// One manual page.
pub struct Page {
    /// The page's name, `retentiond-policy-set`.
    pub name: String,
    /// Its section, 1 or 5.
    pub section: u8,
    /// The man(7) source.
    pub source: String,
}

impl Page {
    /// The file name, `retentiond-policy-set.1`.
    pub fn file_name(&self) -> String {
        format!("{}.{}", self.name, self.section)
    }
}

/// Every page: retentiond(1), one per command, retentiond.toml(5).
pub fn all() -> Vec<Page> {
    let cli = Cli::command();
    let mut out = vec![top(&cli)];
    for (path, cmd) in commands(&cli) {
        out.push(command_page(&cli, &path, cmd));
    }
    out.push(settings::page());
    out
}

/// Every form the commands are run in, as `retentiond policy set --branch
/// ID …`, without the global `--config`: the README's command list shows
/// exactly these.
pub fn synopses() -> Vec<String> {
    let cli = Cli::command();
    commands(&cli)
        .into_iter()
        .filter(|(_, cmd)| runnable(cmd))
        .map(|(path, cmd)| {
            let mut words = vec!["retentiond".to_string(), path.join(" ")];
            words.extend(arguments(cmd).map(|a| usage(a).0));
            words.join(" ")
        })
        .collect()
}

/// The header of a page: title, section, the date of this version's
/// changelog entry, and the version in the footer.
pub(super) fn title(r: &mut Roff, name: &str, section: &str) {
    r.request(
        "TH",
        &[
            &name.to_uppercase(),
            section,
            &release_date(),
            &format!("retentiond {}", env!("CARGO_PKG_VERSION")),
            "retentiond manual",
        ],
    );
    // commands and paths read better unhyphenated and ragged
    r.request("nh", &[]);
    r.request("ad", &["l"]);
}

/// The package's changelog: its newest entry is this version's.
const CHANGELOG: &str = include_str!("../../../packaging/changelog");

/// The date of the newest changelog entry (YYYY-MM-DD): its trailer is
/// ` -- MAINTAINER  DATE`, two blanks before the date.
fn release_date() -> String {
    CHANGELOG
        .lines()
        .find_map(|l| l.strip_prefix(" -- "))
        .and_then(|trailer| trailer.rsplit_once("  "))
        .and_then(|(_, date)| chrono::DateTime::parse_from_rfc2822(date.trim()).ok())
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| "1970-01-01".to_string())
}

/// Every command below the program, depth first, with its words; `help`
/// is clap's own and has no page.
fn commands(cli: &Command) -> Vec<(Vec<String>, &Command)> {
    fn walk<'a>(cmd: &'a Command, path: &[String], out: &mut Vec<(Vec<String>, &'a Command)>) {
        for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
            let mut p = path.to_vec();
            p.push(sub.get_name().to_string());
            out.push((p.clone(), sub));
            walk(sub, &p, out);
        }
    }
    let mut out = Vec::new();
    walk(cli, &[], &mut out);
    out
}

fn has_subcommands(cmd: &Command) -> bool {
    cmd.get_subcommands().any(|s| s.get_name() != "help")
}

/// Whether the command runs without a subcommand.
fn runnable(cmd: &Command) -> bool {
    !has_subcommands(cmd) || !cmd.is_subcommand_required_set()
}

/// The command's own arguments, as shown: not help, version or the global
/// settings file.
fn arguments(cmd: &Command) -> impl Iterator<Item = &Arg> {
    cmd.get_arguments()
        .filter(|a| !a.is_hide_set() && !a.is_global_set())
        .filter(|a| !matches!(a.get_id().as_str(), "help" | "version"))
}

/// The argument in a synopsis, plain and formatted: `--branch ID`,
/// `[--format table|json]`.
fn usage(arg: &Arg) -> (String, String) {
    let (mut plain, mut roff) = match arg.get_long() {
        Some(long) => (format!("--{long}"), bold(&format!("--{long}"))),
        None => (String::new(), String::new()),
    };
    if let Some((p, r)) = value(arg) {
        if !plain.is_empty() {
            plain.push(' ');
            roff.push(' ');
        }
        plain.push_str(&p);
        roff.push_str(&r);
    }
    if arg.is_required_set() {
        (plain, roff)
    } else {
        (format!("[{plain}]"), format!("[{roff}]"))
    }
}

/// The value an argument takes: its name (`ID`), or its allowed words
/// (`table|json`).
pub(super) fn value(arg: &Arg) -> Option<(String, String)> {
    if !arg.get_action().takes_values() {
        return None;
    }
    if let Some(names) = arg.get_value_names().filter(|_| !shows_words(arg)) {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        return Some((names.join(" "), italic(&names.join(" "))));
    }
    let words = allowed(arg);
    if shows_words(arg) {
        let plain: Vec<&str> = words.iter().map(|(w, _)| w.as_str()).collect();
        let formatted: Vec<String> = plain.iter().map(|w| bold(w)).collect();
        return Some((plain.join("|"), formatted.join("|")));
    }
    let name = arg.get_id().as_str().to_uppercase();
    Some((name.clone(), italic(&name)))
}

/// Whether a synopsis shows the allowed words (`table|json`) rather than
/// a value name: a few words, and no name given beyond the field's own.
fn shows_words(arg: &Arg) -> bool {
    let words = allowed(arg).len();
    let named = arg
        .get_value_names()
        .is_some_and(|n| n.len() != 1 || n[0].as_str() != arg.get_id().as_str().to_uppercase());
    (1..=5).contains(&words) && !named
}

/// The allowed values with what each means (none for a flag).
pub(super) fn allowed(arg: &Arg) -> Vec<(String, Option<String>)> {
    if !arg.get_action().takes_values() {
        return Vec::new();
    }
    arg.get_possible_values()
        .into_iter()
        .filter(|v| !v.is_hide_set())
        .map(|v| {
            (
                v.get_name().to_string(),
                v.get_help().map(|h| h.to_string()),
            )
        })
        .collect()
}

/// A sentence: a capital first letter and a full stop.
pub(super) fn sentence(text: &str) -> String {
    let text = text.trim();
    let mut chars = text.chars();
    let mut s = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    };
    if !s.is_empty() && !s.ends_with(['.', '!', '?', ':']) {
        s.push('.');
    }
    s
}

/// The one-line summary of NAME: lower case first, no full stop.
fn summary(cmd: &Command) -> String {
    let about = cmd.get_about().map(|a| a.to_string()).unwrap_or_default();
    let about = about.trim().trim_end_matches('.');
    let mut chars = about.chars();
    match (chars.next(), chars.next()) {
        (Some(first), Some(second)) if second.is_lowercase() => {
            format!("{}{}", first.to_lowercase(), &about[first.len_utf8()..])
        }
        _ => about.to_string(),
    }
}

fn top(cli: &Command) -> Page {
    let mut r = Roff::default();
    title(&mut r, "retentiond", "1");
    r.section("NAME");
    r.text(&format!("retentiond - {}", summary(cli)));
    r.section("SYNOPSIS");
    r.formatted(&format!(
        "{} [{} {}] {} [{}]",
        bold("retentiond"),
        bold("--config"),
        italic("PATH"),
        italic("COMMAND"),
        italic("OPTIONS")
    ));
    r.section("DESCRIPTION");
    r.paragraphs(&long_about(cli));
    r.section("OPTIONS");
    if let Some(config) = cli.get_arguments().find(|a| a.get_id() == "config") {
        option(&mut r, config);
    }
    r.item(
        &format!("{}, {}", bold("-h"), bold("--help")),
        "Print help.",
    );
    r.item(
        &format!("{}, {}", bold("-V"), bold("--version")),
        "Print the version.",
    );
    r.section("COMMANDS");
    for sub in cli.get_subcommands().filter(|s| s.get_name() != "help") {
        r.request("TP", &[]);
        r.formatted(&bold(sub.get_name()));
        r.formatted(&format!(
            "{} See {}(1).",
            escape(&sentence(&summary(sub))),
            bold(&format!("retentiond-{}", sub.get_name()))
        ));
    }
    exit_status(&mut r, "");
    environment(&mut r, true, true);
    files(&mut r, true);
    examples(&mut r, "");
    let mut see: Vec<String> = vec!["retentiond.toml(5)".into()];
    see.extend(
        commands(cli)
            .iter()
            .map(|(p, _)| format!("retentiond-{}(1)", p.join("-"))),
    );
    see.extend(["systemctl(1)".into(), "journalctl(1)".into()]);
    see_also(&mut r, &see);
    Page {
        name: "retentiond".into(),
        section: 1,
        source: r.finish(),
    }
}

fn long_about(cmd: &Command) -> String {
    cmd.get_long_about()
        .or(cmd.get_about())
        .map(|a| sentence(&a.to_string()))
        .unwrap_or_default()
}

fn command_page(cli: &Command, path: &[String], cmd: &Command) -> Page {
    let name = format!("retentiond-{}", path.join("-"));
    let words = path.join(" ");
    let reads_settings = !matches!(words.as_str(), "man" | "completions");
    let mut r = Roff::default();
    title(&mut r, &name, "1");
    r.section("NAME");
    r.text(&format!("{name} - {}", summary(cmd)));
    synopsis(&mut r, cmd, &words, reads_settings);
    r.section("DESCRIPTION");
    r.paragraphs(&long_about(cmd));
    let own: Vec<&Arg> = arguments(cmd).collect();
    if !own.is_empty() || reads_settings {
        r.section("OPTIONS");
        for arg in own {
            option(&mut r, arg);
        }
        if reads_settings {
            if let Some(config) = cli.get_arguments().find(|a| a.get_id() == "config") {
                option(&mut r, config);
            }
        }
    }
    let subs: Vec<&Command> = cmd
        .get_subcommands()
        .filter(|s| s.get_name() != "help")
        .collect();
    if !subs.is_empty() {
        r.section("COMMANDS");
        for sub in &subs {
            r.request("TP", &[]);
            r.formatted(&bold(sub.get_name()));
            r.formatted(&format!(
                "{} See {}(1).",
                escape(&sentence(&summary(sub))),
                bold(&format!("{name}-{}", sub.get_name()))
            ));
        }
    }
    if runnable(cmd) {
        exit_status(&mut r, &words);
    }
    if reads_settings {
        let actor = arguments(cmd).any(|a| a.get_id() == "actor");
        environment(&mut r, actor, words == "serve");
        files(&mut r, words == "serve");
    }
    examples(&mut r, &words);
    let mut see = vec!["retentiond(1)".to_string()];
    if path.len() > 1 {
        see.push(format!(
            "retentiond-{}(1)",
            path[..path.len() - 1].join("-")
        ));
    }
    see.extend(subs.iter().map(|s| format!("{name}-{}(1)", s.get_name())));
    if reads_settings {
        see.push("retentiond.toml(5)".into());
    }
    if words == "serve" {
        see.extend(["systemctl(1)".into(), "journalctl(1)".into()]);
    }
    see_also(&mut r, &see);
    Page {
        name,
        section: 1,
        source: r.finish(),
    }
}

/// The SYNOPSIS of a command's page: its own form with its options, and
/// the form of its subcommands.
fn synopsis(r: &mut Roff, cmd: &Command, words: &str, reads_settings: bool) {
    r.section("SYNOPSIS");
    let mut forms = Vec::new();
    if runnable(cmd) {
        let mut line = vec![bold(&format!("retentiond {words}"))];
        line.extend(arguments(cmd).map(|a| usage(a).1));
        if reads_settings {
            line.push(format!("[{} {}]", bold("--config"), italic("PATH")));
        }
        forms.push(line.join(" "));
    }
    if has_subcommands(cmd) {
        forms.push(format!(
            "{} {} [{}]",
            bold(&format!("retentiond {words}")),
            italic("COMMAND"),
            italic("OPTIONS")
        ));
    }
    for (i, form) in forms.iter().enumerate() {
        if i > 0 {
            r.request("PP", &[]);
        }
        r.formatted(form);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::args::pages;
    use clap::Parser;

    /// The words of a shell command line (single quotes, no redirection).
    fn words(line: &str) -> Vec<String> {
        let line = line.split(" > ").next().unwrap_or(line);
        let mut out = Vec::new();
        for (i, part) in line.split('\'').enumerate() {
            if i % 2 == 1 {
                out.push(part.to_string());
            } else {
                out.extend(part.split_whitespace().map(String::from));
            }
        }
        out
    }

    #[test]
    fn every_example_is_a_command_line_the_binary_accepts() {
        let cli = Cli::command();
        let names: Vec<String> = commands(&cli).iter().map(|(p, _)| p.join(" ")).collect();
        for page in pages::PAGES {
            assert!(
                page.command.is_empty() || names.iter().any(|n| n == page.command),
                "{} is no command",
                page.command
            );
            for example in page
                .examples
                .iter()
                .filter(|e| e.starts_with("retentiond "))
            {
                if let Err(e) = Cli::try_parse_from(words(example)) {
                    panic!("{example}: {e}");
                }
            }
        }
    }

    #[test]
    fn the_newest_changelog_entry_is_this_version_and_dates_the_pages() {
        let first = CHANGELOG.lines().next().unwrap();
        assert!(
            first.starts_with(&format!("retentiond ({}) ", env!("CARGO_PKG_VERSION"))),
            "packaging/changelog needs an entry for this version: {first}"
        );
        assert_ne!(release_date(), "1970-01-01");
    }

    #[test]
    fn every_runnable_command_has_a_form_with_its_value_names() {
        let forms = synopses();
        assert!(forms.contains(
            &"retentiond policy set --branch ID --type TYPE --period PERIOD [--dry-run] [--actor NAME] \
              [--format table|json]"
                .to_string()
        ));
        assert!(forms
            .contains(&"retentiond outbox [--all] [--limit N] [--format table|json]".to_string()));
        assert!(!forms.iter().any(|f| f.starts_with("retentiond help")));
        assert!(
            !forms.iter().any(|f| f == "retentiond policy"),
            "{forms:#?}"
        );
    }
}
