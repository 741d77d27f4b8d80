//! The manual pages and completions come from the clap definitions, need
//! no settings, list the allowed values, and the package installs them
//! where man, bash, zsh and fish look.

use std::process::Command;

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

#[test]
fn the_manual_has_a_page_per_command() {
    let page = ok(&["man"]);
    assert!(page.contains(".TH retentiond 1"), "{page}");
    assert!(page.contains("protocol"), "{page}");
    let dir = tempfile::tempdir().unwrap();
    ok(&["man", "--dir", dir.path().to_str().unwrap()]);
    for name in [
        "retentiond.1",
        "retentiond-protocol-verify.1",
        "retentiond-policy-set.1",
    ] {
        let page = std::fs::read_to_string(dir.path().join(name)).unwrap();
        assert!(page.starts_with(".ie") || page.contains(".TH"), "{name}");
    }
}

#[test]
fn the_package_installs_manual_pages_and_completions() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new("bash")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/package"))
        .env("RETENTIOND_BIN", env!("CARGO_BIN_EXE_retentiond"))
        .env("PACKAGE_DIR", dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let deb = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "deb"))
        .expect("a .deb");
    let root = dir.path().join("root");
    let out = Command::new("dpkg-deb")
        .arg("-x")
        .arg(&deb)
        .arg(&root)
        .output()
        .unwrap();
    assert!(out.status.success());
    for file in [
        "usr/share/man/man1/retentiond.1.gz",
        "usr/share/man/man1/retentiond-protocol-verify.1.gz",
        "usr/share/bash-completion/completions/retentiond",
        "usr/share/zsh/vendor-completions/_retentiond",
        "usr/share/fish/vendor_completions.d/retentiond.fish",
    ] {
        let path = root.join(file);
        assert!(
            path.metadata().is_ok_and(|m| m.len() > 0),
            "{file} in the package"
        );
    }
    let page = Command::new("zcat")
        .arg(root.join("usr/share/man/man1/retentiond.1.gz"))
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&page.stdout).contains(".TH retentiond 1"));
}
