//! The manual pages and completions come from the clap definitions and the
//! settings keys, need no settings, list the allowed values, and pass the
//! checks Debian runs on manual pages (mandoc's lint, groff's warnings);
//! the README lists exactly the commands and settings the binary has.

use std::path::Path;
use std::process::Command;

use retentiond::settings::keys::KEYS;

fn retentiond(args: &[&str]) -> std::process::Output {
    // no settings at all: these must work on a build machine
    Command::new(env!("CARGO_BIN_EXE_retentiond"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RETENTIOND_CONFIG", "/nonexistent/retentiond.toml")
        .output()
        .unwrap()
}

fn ok(args: &[&str]) -> String {
    let out = retentiond(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn completions_list_commands_and_allowed_values_for_each_shell() {
    let bash = ok(&["completions", "bash"]);
    assert!(bash.contains("complete -F"), "a bash completion");
    for shell in ["bash", "zsh", "fish"] {
        let script = ok(&["completions", shell]);
        for word in [
            "protocol",
            "verify",
            "company_guest",
            "guest_anonymized",
            "erasure",
        ] {
            assert!(script.contains(word), "{shell} completion lacks {word}");
        }
    }
    // bash can load it and then completes `retentiond`
    let out = Command::new("bash")
        .arg("-c")
        .arg("source /dev/stdin && complete -p retentiond")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(bash.as_bytes())?;
            child.wait_with_output()
        })
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("retentiond"));
}

#[test]
fn help_names_the_allowed_values_and_bad_ones_are_refused() {
    let help = ok(&["policy", "set", "--help"]);
    assert!(
        help.contains("[possible values: newsletter_subscriber"),
        "{help}"
    );
    let help = ok(&["settings", "set", "--help"]);
    assert!(help.contains("- default: the global mail.locale"), "{help}");
    let help = ok(&["protocol", "--help"]);
    assert!(help.contains("run_finished"), "{help}");
    let out = retentiond(&[
        "policy", "set", "--branch", "1", "--type", "visitor", "--period", "1y",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid value 'visitor'"));
}

/// Every page `retentiond man --dir` writes, by file name, with its text.
fn pages() -> (tempfile::TempDir, Vec<(String, std::path::PathBuf)>) {
    let dir = tempfile::tempdir().unwrap();
    ok(&["man", "--dir", dir.path().to_str().unwrap()]);
    let mut pages = Vec::new();
    for section in ["man1", "man5"] {
        for entry in std::fs::read_dir(dir.path().join(section)).unwrap() {
            let path = entry.unwrap().path();
            pages.push((
                path.file_name().unwrap().to_string_lossy().into_owned(),
                path,
            ));
        }
    }
    pages.sort();
    (dir, pages)
}

/// A page's text without roff: escapes and fonts removed, one line.
fn plain(source: &str) -> String {
    let text = source
        .lines()
        .filter(|l| !l.starts_with('.') || l.starts_with(".TP"))
        .collect::<Vec<_>>()
        .join(" ")
        .replace("\\-", "-")
        .replace("\\(aq", "'")
        .replace("\\fB", "")
        .replace("\\fI", "")
        .replace("\\fR", "")
        .replace("\\&", "");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The sections (`.SH`) of a page.
fn sections(source: &str) -> Vec<String> {
    source
        .lines()
        .filter_map(|l| l.strip_prefix(".SH "))
        .map(|s| s.trim_matches('"').to_string())
        .collect()
}

#[test]
fn every_manual_page_passes_mandoc_lint_and_groff_without_a_warning() {
    let (_dir, pages) = pages();
    assert!(pages.len() > 30, "{pages:?}");
    for (name, path) in &pages {
        let out = Command::new("mandoc")
            .args(["-T", "lint"])
            .arg(path)
            .output()
            .expect("mandoc (Debian package mandoc; scripts/test installs it) is needed");
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success() && said.is_empty(), "{name}: {said}");
        // what lintian runs on every page of a package
        let out = Command::new("man")
            .args(["--warnings", "-E", "UTF-8", "-l", "-Tutf8", "-Z"])
            .arg(path)
            .env("LC_ALL", "C.UTF-8")
            .env("MANROFFSEQ", "")
            .env("MANWIDTH", "80")
            .output()
            .expect("man (Debian package man-db) is needed");
        assert!(
            out.status.success() && out.stderr.is_empty(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn every_command_has_a_page_with_the_sections_of_a_debian_daemon() {
    let (_dir, pages) = pages();
    let names: Vec<&str> = pages.iter().map(|(n, _)| n.as_str()).collect();
    let read = |name: &str| {
        std::fs::read_to_string(&pages[names.iter().position(|n| *n == name).unwrap()].1).unwrap()
    };
    let top = read("retentiond.1");
    assert_eq!(
        sections(&top),
        [
            "NAME",
            "SYNOPSIS",
            "DESCRIPTION",
            "OPTIONS",
            "COMMANDS",
            "EXIT STATUS",
            "ENVIRONMENT",
            "FILES",
            "EXAMPLES",
            "SEE ALSO"
        ]
    );
    // the version in the footer, a date that parses
    let th = top.lines().find(|l| l.starts_with(".TH ")).unwrap();
    assert!(
        th.contains(&format!("\"retentiond {}\"", env!("CARGO_PKG_VERSION"))),
        "{th}"
    );
    assert!(!top.contains("retentiond\\-help"), "no page for help");
    for form in retentiond::cli::synopses() {
        let words: Vec<&str> = form
            .split(' ')
            .skip(1)
            .take_while(|w| !w.starts_with(['-', '[']) && !w.contains('|'))
            .collect();
        let name = format!("retentiond-{}.1", words.join("-"));
        let page = read(&name);
        let reads_settings = !["man", "completions"].contains(&words[0]);
        for section in [
            "NAME",
            "SYNOPSIS",
            "DESCRIPTION",
            "OPTIONS",
            "EXIT STATUS",
            "EXAMPLES",
            "SEE ALSO",
        ] {
            assert!(
                sections(&page).iter().any(|s| s == section),
                "{name}: {section}"
            );
        }
        for section in ["ENVIRONMENT", "FILES"] {
            assert_eq!(
                sections(&page).iter().any(|s| s == section),
                reads_settings,
                "{name}: {section}"
            );
        }
        // the synopsis names the values: `--branch ID`, `--format table|json`
        let synopsis = plain(page.split(".SH DESCRIPTION").next().unwrap());
        let form = form.strip_prefix("retentiond ").unwrap();
        assert!(synopsis.contains(form), "{name}: {synopsis} lacks {form}");
    }
    for page in [
        "retentiond-run.1",
        "retentiond-serve.1",
        "retentiond-status.1",
    ] {
        let s = sections(&read(page));
        for section in ["OPTIONS", "ENVIRONMENT", "FILES", "EXAMPLES"] {
            assert!(s.iter().any(|x| x == section), "{page}: {section}");
        }
    }
    // serve says what the daemon does, its signals, readiness and watchdog
    let serve = plain(&read("retentiond-serve.1"));
    for words in [
        "SIGTERM",
        "SIGHUP",
        "READY=1",
        "WATCHDOG=1",
        "STATUS=",
        "nightly_at",
    ] {
        assert!(serve.contains(words), "serve(1) lacks {words}");
    }
    // every page a SEE ALSO names is written
    for (name, path) in &pages {
        let text = plain(&std::fs::read_to_string(path).unwrap());
        let see = text
            .split("SEE ALSO")
            .nth(1)
            .unwrap_or_default()
            .to_string();
        for reference in see.split(", ").map(str::trim) {
            if let Some(page) = reference
                .strip_suffix("(1)")
                .filter(|p| p.starts_with("retentiond"))
            {
                assert!(
                    names.contains(&format!("{page}.1").as_str()),
                    "{name}: {reference}"
                );
            }
        }
    }
    // `retentiond man` alone prints the program's page
    assert_eq!(ok(&["man"]), top);
}

#[test]
fn the_settings_page_lists_every_key_with_its_type_range_and_default() {
    let (_dir, pages) = pages();
    let (_, path) = pages
        .iter()
        .find(|(n, _)| n == "retentiond.toml.5")
        .unwrap();
    let text = plain(&std::fs::read_to_string(path).unwrap());
    for key in KEYS {
        let entry = format!("{} ({})", key.short(), key.kind.describe());
        assert!(text.contains(&entry), "{entry}");
        let default = match key.default {
            Some(d) => format!("Default: {d}. Environment: {}.", key.env()),
            None => format!("Environment: {}.", key.env()),
        };
        assert!(text.contains(&default), "{} lacks {default}", key.name);
    }
    assert!(text.contains("tick (duration, 1s to 1h)"), "{text}");
}

/// The README's lines between ```` ``` ```` after `heading`.
fn readme_block(heading: &str) -> Vec<String> {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let after = readme.split(heading).nth(1).unwrap();
    let block = after.split("```").nth(1).unwrap();
    block.lines().skip(1).map(String::from).collect()
}

#[test]
fn the_readme_lists_exactly_the_forms_each_command_accepts() {
    let mut listed: Vec<String> = Vec::new();
    for line in readme_block("## Commands") {
        let line = line.split(" # ").next().unwrap().trim_end().to_string();
        if line.starts_with(' ') {
            let last = listed.last_mut().unwrap();
            last.push(' ');
            last.push_str(line.trim());
        } else if !line.is_empty() {
            listed.push(line);
        }
    }
    let listed: Vec<String> = listed
        .iter()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(listed, retentiond::cli::synopses());
}

#[test]
fn the_readme_settings_table_has_every_key_with_its_default() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    for key in KEYS {
        let prefix = format!("| `{}` | ", key.name);
        let row = readme
            .lines()
            .find(|l| l.starts_with(&prefix))
            .unwrap_or_else(|| panic!("no README row for {}", key.name));
        let default = row[prefix.len()..].split(" | ").next().unwrap();
        match key.default {
            Some(d) => assert_eq!(default, format!("`{d}`"), "{}", key.name),
            None => assert!(matches!(default, "–" | "(required)"), "{row}"),
        }
    }
}
