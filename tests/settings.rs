//! Settings: every kind of bad value gives a clear error naming the key and
//! exit code 2; check-config never prints a secret.

mod common;

use std::io::Write;
use std::process::Command;

use common::{expect_code, stderr, stdout};

fn retentiond(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_retentiond"));
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

const DB: (&str, &str) = (
    "RETENTIOND__DATABASE__URL",
    "postgres://app@127.0.0.1:5432/guests",
);

#[track_caller]
fn assert_bad(env: &[(&str, &str)], needles: &[&str]) {
    let out = retentiond(&["check-config"], env);
    expect_code(&out, 2);
    let err = stderr(&out);
    for n in needles {
        assert!(err.contains(n), "expected {n:?} in:\n{err}");
    }
}

#[test]
fn missing_database_url_is_named() {
    assert_bad(&[], &["database.url", "RETENTIOND__DATABASE__URL"]);
}

#[test]
fn bad_batch_size_names_key_value_and_range() {
    assert_bad(
        &[DB, ("RETENTIOND__BATCH__SIZE", "lots")],
        &["batch.size", "\"lots\"", "whole number"],
    );
    assert_bad(
        &[DB, ("RETENTIOND__BATCH__SIZE", "0")],
        &["batch.size", "\"0\""],
    );
}

#[test]
fn bad_duration_names_key_and_format() {
    assert_bad(
        &[DB, ("RETENTIOND__BATCH__PAUSE", "soon")],
        &["batch.pause", "\"soon\"", "200ms"],
    );
}

#[test]
fn unknown_transport_is_rejected() {
    assert_bad(
        &[DB, ("RETENTIOND__MAIL__TRANSPORT", "pigeon")],
        &["mail.transport", "pigeon", "smtp, file or log"],
    );
}

#[test]
fn smtp_transport_needs_an_smtp_url() {
    assert_bad(
        &[DB, ("RETENTIOND__MAIL__TRANSPORT", "smtp")],
        &["mail.smtp_url"],
    );
    assert_bad(
        &[
            DB,
            ("RETENTIOND__MAIL__SMTP_URL", "http://mail.example.com"),
        ],
        &["mail.smtp_url", "smtp://"],
    );
}

#[test]
fn file_transport_needs_a_directory() {
    assert_bad(
        &[DB, ("RETENTIOND__MAIL__TRANSPORT", "file")],
        &["mail.file_dir"],
    );
}

#[test]
fn bad_sender_is_rejected() {
    assert_bad(
        &[DB, ("RETENTIOND__MAIL__FROM", "not a mailbox")],
        &["mail.from", "not a mailbox"],
    );
}

#[test]
fn bad_database_url_is_rejected_without_its_password() {
    let out = retentiond(
        &["check-config"],
        &[(
            "RETENTIOND__DATABASE__URL",
            "postgres://app:hunter2@db:notaport/x",
        )],
    );
    expect_code(&out, 2);
    let err = stderr(&out);
    assert!(err.contains("database.url"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
}

#[test]
fn several_problems_are_reported_together() {
    assert_bad(
        &[
            DB,
            ("RETENTIOND__BATCH__SIZE", "x"),
            ("RETENTIOND__LOG__FORMAT", "xml"),
        ],
        &["batch.size", "log.format"],
    );
}

#[test]
fn unknown_key_in_the_file_is_rejected() {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    writeln!(f, "[batch]\nsise = 100").unwrap();
    let out = retentiond(
        &["--config", f.path().to_str().unwrap(), "check-config"],
        &[DB],
    );
    expect_code(&out, 2);
    assert!(stderr(&out).contains("sise"), "{}", stderr(&out));
}

#[test]
fn missing_config_file_given_explicitly_is_an_error() {
    let out = retentiond(
        &["--config", "/nonexistent/retentiond.toml", "check-config"],
        &[DB],
    );
    expect_code(&out, 2);
    assert!(
        stderr(&out).contains("/nonexistent/retentiond.toml"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn file_values_are_read_and_environment_wins() {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    writeln!(
        f,
        "[database]\nurl = \"postgres://file@127.0.0.1/guests\"\n[batch]\nsize = 250\npause = \"0s\""
    )
    .unwrap();
    let out = retentiond(
        &["--config", f.path().to_str().unwrap(), "check-config"],
        &[("RETENTIOND__BATCH__SIZE", "500")],
    );
    let text = expect_code(&out, 0);
    assert!(text.contains("size = 500"), "{text}");
    assert!(text.contains("pause = \"0s\""), "{text}");
    assert!(text.contains("postgres://file@127.0.0.1/guests"), "{text}");
}

#[test]
fn check_config_never_prints_secrets() {
    let mut pw = tempfile::NamedTempFile::new().unwrap();
    writeln!(pw, "file-secret").unwrap();
    let out = retentiond(
        &["check-config"],
        &[
            (
                "RETENTIOND__DATABASE__URL",
                "postgres://app:db-secret@127.0.0.1:5432/guests?password=db-secret2",
            ),
            ("RETENTIOND__MAIL__TRANSPORT", "smtp"),
            (
                "RETENTIOND__MAIL__SMTP_URL",
                "smtps://mailer:smtp-secret@mail.example.com:465",
            ),
            ("RETENTIOND__MAIL__PASSWORD", "env-secret"),
            (
                "RETENTIOND__MAIL__PASSWORD_FILE",
                pw.path().to_str().unwrap(),
            ),
        ],
    );
    let text = expect_code(&out, 0);
    let all = format!("{text}{}", stderr(&out));
    for secret in [
        "db-secret",
        "db-secret2",
        "smtp-secret",
        "env-secret",
        "file-secret",
    ] {
        assert!(!all.contains(secret), "{secret} printed:\n{all}");
    }
    assert!(
        text.contains("postgres://app:***@127.0.0.1/guests"),
        "{text}"
    );
    assert!(
        text.contains("smtps://mailer:***@mail.example.com:465"),
        "{text}"
    );
}

#[test]
fn defaults_need_no_mail_server() {
    let out = retentiond(&["check-config"], &[DB]);
    let text = expect_code(&out, 0);
    assert!(text.contains("transport = \"log\""), "{text}");
    assert!(stdout(&out).contains("size = 1000"));
}

#[test]
fn bad_usage_exits_2() {
    let out = retentiond(&["no-such-command"], &[DB]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn the_shipped_example_settings_are_valid() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/systemd/retentiond.toml"
    ))
    .unwrap();
    // the package installs the (empty) password file it names
    let dir = tempfile::tempdir().unwrap();
    let password = dir.path().join("db-password");
    std::fs::write(&password, "").unwrap();
    assert!(text.contains("\"/etc/retentiond/db-password\""));
    let text = text.replace("/etc/retentiond/db-password", password.to_str().unwrap());
    let s = retentiond::settings::Settings::from_toml(&text).expect("example settings validate");
    assert_eq!(s.database.config.get_password(), None, "empty: no password");
    assert_eq!(s.schedule.nightly_at.format("%H:%M").to_string(), "02:30");
    assert_eq!(s.batch.size, 1000);
}

#[test]
fn an_smtp_url_is_checked_whole_at_start_up() {
    for (url, why) in [
        ("smtp://mail.example.com:99999", "99999"),
        ("smtp://mail.example.com:587?tls=bogus", "tls"),
    ] {
        assert_bad(
            &[
                DB,
                ("RETENTIOND__MAIL__TRANSPORT", "smtp"),
                ("RETENTIOND__MAIL__SMTP_URL", url),
            ],
            &["mail.smtp_url", why],
        );
    }
}

#[test]
fn no_form_of_an_smtp_password_is_printed() {
    // unencoded `/`, `?`, `#`, `:` and `@` and a percent-encoded one
    for password in ["pa/ss", "pa?ss", "pa#ss", "pa:ss", "p@ss", "pa%2Fss"] {
        let url = format!("smtps://mailer:{password}@mail.example.com:465");
        for args in [
            &["check-config"][..],
            &["check-config", "--format", "json"][..],
        ] {
            let out = retentiond(
                args,
                &[
                    DB,
                    ("RETENTIOND__MAIL__TRANSPORT", "smtp"),
                    ("RETENTIOND__MAIL__SMTP_URL", &url),
                ],
            );
            let all = format!("{}{}", stdout(&out), stderr(&out));
            for part in [password, "ss@"] {
                assert!(
                    !all.contains(part),
                    "{password:?}: {part:?} printed:\n{all}"
                );
            }
            assert!(all.contains("mailer:***@"), "{password:?}:\n{all}");
        }
    }
}
