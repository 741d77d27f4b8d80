//! The Debian package scripts/package builds: what it holds, that lintian
//! finds no error and no warning (each override justified), dependencies
//! from dpkg-shlibdeps, and that purge removes the units' enablement, as
//! the debhelper snippets its maintainer scripts use do.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Who builds the test's package.
const MAINTAINER: &str = "retentiond test builds <builds@example.org>";

/// The package scripts/package builds from the test binary, once per run.
fn package() -> &'static Path {
    static DEB: OnceLock<PathBuf> = OnceLock::new();
    DEB.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("package");
        let _ = std::fs::remove_dir_all(&dir);
        let out = Command::new("bash")
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/package"))
            .env("RETENTIOND_BIN", env!("CARGO_BIN_EXE_retentiond"))
            .env("PACKAGE_DIR", &dir)
            .env("RETENTIOND_MAINTAINER", MAINTAINER)
            .output()
            .unwrap();
        assert!(out.status.success(), "scripts/package: {}", stderr(&out));
        std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .find(|p| p.extension().is_some_and(|x| x == "deb"))
            .expect("a .deb")
    })
}

/// The package's files and its control files, unpacked.
fn unpacked() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let (root, control) = (dir.path().join("root"), dir.path().join("DEBIAN"));
    for (flag, into) in [("-x", &root), ("-e", &control)] {
        let out = Command::new("dpkg-deb")
            .arg(flag)
            .arg(package())
            .arg(into)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
    }
    (dir, root, control)
}

fn control_field(control: &Path, field: &str) -> String {
    let text = std::fs::read_to_string(control.join("control")).unwrap();
    let prefix = format!("{field}: ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {field} in {text}"))
        .to_string()
}

#[test]
fn the_package_holds_units_pages_completions_rules_and_its_papers() {
    let (_dir, root, control) = unpacked();
    for file in [
        "usr/bin/retentiond",
        "lib/systemd/system/retentiond.service",
        "lib/systemd/system/retentiond@.service",
        "usr/libexec/retentiond/migrate-on-upgrade",
        "usr/share/man/man1/retentiond.1.gz",
        "usr/share/man/man1/retentiond-protocol-verify.1.gz",
        "usr/share/man/man1/retentiond-serve.1.gz",
        "usr/share/man/man5/retentiond.toml.5.gz",
        "usr/share/bash-completion/completions/retentiond",
        "usr/share/zsh/vendor-completions/_retentiond",
        "usr/share/fish/vendor_completions.d/retentiond.fish",
        "usr/share/retentiond/prometheus/alerts.yml",
        "usr/share/doc/retentiond/README.md",
        "usr/share/doc/retentiond/changelog.gz",
        "usr/share/doc/retentiond/copyright",
        "usr/share/lintian/overrides/retentiond",
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
    assert!(String::from_utf8_lossy(&page.stdout).contains(".TH RETENTIOND 1"));
    // the changelog's newest entry is this version, signed by the builder
    let changelog = Command::new("zcat")
        .arg(root.join("usr/share/doc/retentiond/changelog.gz"))
        .output()
        .unwrap();
    let changelog = String::from_utf8_lossy(&changelog.stdout);
    assert!(
        changelog.starts_with(&format!("retentiond ({}) ", env!("CARGO_PKG_VERSION"))),
        "{changelog}"
    );
    assert!(
        changelog.contains(&format!(" -- {MAINTAINER}  ")),
        "{changelog}"
    );
    assert_eq!(control_field(&control, "Maintainer"), MAINTAINER);
    // a copyright notice, the license, and the crates the binary links
    let copyright =
        std::fs::read_to_string(root.join("usr/share/doc/retentiond/copyright")).unwrap();
    assert!(copyright.contains("\nCopyright: "), "{copyright}");
    assert!(copyright.contains("\nLicense: MIT\n Permission is hereby granted"));
    assert!(copyright.contains("\n tokio-postgres 0.7."), "{copyright}");
    assert!(
        !copyright.contains("\n tempfile "),
        "a test crate listed: {copyright}"
    );
    // the dependencies are what dpkg-shlibdeps finds for the binary
    let scratch = tempfile::tempdir().unwrap();
    std::fs::create_dir(scratch.path().join("debian")).unwrap();
    std::fs::write(
        scratch.path().join("debian/control"),
        "Source: retentiond\n\nPackage: retentiond\nArchitecture: any\n",
    )
    .unwrap();
    let out = Command::new("dpkg-shlibdeps")
        .args(["-O", "-e"])
        .arg(root.join("usr/bin/retentiond"))
        .current_dir(scratch.path())
        .output()
        .expect("dpkg-shlibdeps (Debian package dpkg-dev) is needed");
    let shlibs = stdout(&out);
    let shlibs = shlibs.trim().strip_prefix("shlibs:Depends=").unwrap();
    assert_eq!(
        control_field(&control, "Depends"),
        format!("adduser, {shlibs}")
    );
}

#[test]
fn lintian_finds_no_error_and_no_warning_and_every_override_says_why() {
    // lintian leaves a scratch file in TMPDIR: one of the test's own
    let scratch = tempfile::tempdir().unwrap();
    let out = Command::new("lintian")
        .args(["--fail-on", "error,warning", "--no-tag-display-limit"])
        .arg(package())
        .env("TMPDIR", scratch.path())
        .output()
        .expect("lintian (Debian package lintian; scripts/test installs it) is needed");
    let said = stdout(&out);
    assert!(
        out.status.success()
            && !said
                .lines()
                .any(|l| l.starts_with("E: ") || l.starts_with("W: ")),
        "lintian:\n{said}{}",
        stderr(&out)
    );
    // every override is justified by the comment above it
    let overrides = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/packaging/lintian-overrides"
    ))
    .unwrap();
    let lines: Vec<&str> = overrides.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        if line.starts_with("retentiond: ") {
            assert!(
                i > 0 && lines[i - 1].starts_with("# "),
                "{line} has no justification"
            );
        }
    }
}

#[test]
fn purge_removes_the_enablement_of_the_daemon_and_of_its_instances() {
    let (_dir, root, control) = unpacked();
    let helper = |script: &str, args: &[&str]| {
        let out = Command::new("deb-systemd-helper")
            .args(args)
            .env("DPKG_ROOT", &root)
            .env("DPKG_MAINTSCRIPT_PACKAGE", "retentiond")
            .env("DPKG_MAINTSCRIPT_NAME", script)
            .output()
            .expect("deb-systemd-helper (Debian package init-system-helpers) is needed");
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    };
    // what the postinst does on configure: the unit's state is recorded
    let postinst = std::fs::read_to_string(control.join("postinst")).unwrap();
    assert!(postinst.contains("deb-systemd-helper update-state 'retentiond.service'"));
    helper("postinst", &["update-state", "retentiond.service"]);
    // the admin enables the daemon and an instance (systemctl enable)
    let wants = root.join("etc/systemd/system/multi-user.target.wants");
    std::fs::create_dir_all(&wants).unwrap();
    std::os::unix::fs::symlink(
        "/lib/systemd/system/retentiond.service",
        wants.join("retentiond.service"),
    )
    .unwrap();
    std::os::unix::fs::symlink(
        "/lib/systemd/system/retentiond@.service",
        wants.join("retentiond@eu.service"),
    )
    .unwrap();
    std::fs::create_dir_all(root.join("var/spool/retentiond")).unwrap();
    // dpkg --purge runs the postrm (after remove) with "purge"
    let out = Command::new("sh")
        .arg(control.join("postrm"))
        .arg("purge")
        .env("DPKG_ROOT", &root)
        .env("DPKG_MAINTSCRIPT_PACKAGE", "retentiond")
        .env("DPKG_MAINTSCRIPT_NAME", "postrm")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    for link in ["retentiond.service", "retentiond@eu.service"] {
        assert!(
            wants.join(link).symlink_metadata().is_err(),
            "{link} is still enabled after purge"
        );
    }
    assert!(!root.join("var/spool/retentiond").exists());
    // no maintainer script calls systemctl but to reload its units
    for script in ["postinst", "prerm", "postrm"] {
        let text = std::fs::read_to_string(control.join(script)).unwrap();
        for line in text.lines().filter(|l| !l.trim_start().starts_with('#')) {
            assert!(
                !line.contains("systemctl ") || line.contains("daemon-reload"),
                "{script}: {line}"
            );
        }
    }
}
