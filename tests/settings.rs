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
fn a_batch_cap_below_the_first_batch_is_refused_naming_both() {
    assert_bad(
        &[
            DB,
            ("RETENTIOND__BATCH__SIZE", "5000"),
            ("RETENTIOND__BATCH__MAX_SIZE", "2000"),
        ],
        &["batch.max_size", "\"2000\"", "batch.size", "\"5000\""],
    );
}

#[test]
fn a_lock_hold_bound_over_a_minute_is_refused() {
    assert_bad(
        &[DB, ("RETENTIOND__BATCH__MAX_LOCK_HOLD", "2m")],
        &["batch.max_lock_hold", "\"2m\""],
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
    assert!(stdout(&out).contains("size = 250"));
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
    assert_eq!(s.batch.size, 250);
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

/// A relay URL and a password from each place it may come from; the
/// connection may end up without TLS (plain, or STARTTLS only if offered).
fn password_without_tls(dir: &std::path::Path) -> Vec<(Vec<(&'static str, String)>, &'static str)> {
    let file = dir.join("smtp-password");
    std::fs::write(&file, "file-secret\n").unwrap();
    let smtp = |url: &str| {
        vec![
            ("RETENTIOND__MAIL__TRANSPORT", "smtp".to_string()),
            ("RETENTIOND__MAIL__SMTP_URL", url.to_string()),
        ]
    };
    let with = |mut env: Vec<(&'static str, String)>, key, value: String| {
        env.push((key, value));
        env
    };
    vec![
        (
            smtp("smtp://mailer:url-secret@mail.example.com:587"),
            "mail.smtp_url",
        ),
        (
            with(
                smtp("smtp://mailer@mail.example.com:587?tls=opportunistic"),
                "RETENTIOND__MAIL__PASSWORD",
                "env-secret".into(),
            ),
            "mail.password",
        ),
        (
            with(
                smtp("smtp://mailer@mail.example.com:25"),
                "RETENTIOND__MAIL__PASSWORD_FILE",
                file.display().to_string(),
            ),
            "mail.password_file",
        ),
    ]
}

fn with_db<'a>(
    env: &'a [(&'static str, String)],
    extra: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut all = vec![DB];
    all.extend(env.iter().map(|(k, v)| (*k, v.as_str())));
    all.extend_from_slice(extra);
    all
}

#[test]
fn a_password_over_a_connection_that_may_lack_tls_is_refused_naming_the_keys() {
    let dir = tempfile::tempdir().unwrap();
    for (env, source) in password_without_tls(dir.path()) {
        let out = retentiond(&["check-config"], &with_db(&env, &[]));
        expect_code(&out, 2);
        let err = stderr(&out);
        for needle in [
            "mail.smtp_url",
            &format!("(from {source})"),
            "mail.allow_auth_without_tls = true",
            "smtps://",
            "?tls=required",
        ] {
            assert!(err.contains(needle), "{source}: {needle:?} not in:\n{err}");
        }
        let all = format!("{}{err}", stdout(&out));
        for secret in ["url-secret", "env-secret", "file-secret"] {
            assert!(!all.contains(secret), "{secret} printed:\n{all}");
        }
    }
}

#[test]
fn the_daemon_does_not_start_with_a_password_that_may_go_without_tls() {
    let dir = tempfile::tempdir().unwrap();
    let (env, _) = password_without_tls(dir.path()).remove(0);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_retentiond"));
    cmd.arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(with_db(&env, &[]))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let started = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > std::time::Duration::from_secs(20) {
            let _ = child.kill();
            panic!("serve started with a password that may go without TLS");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    expect_code(&out, 2);
    let err = stderr(&out);
    assert!(err.contains("mail.allow_auth_without_tls"), "{err}");
    assert!(!err.contains("url-secret"), "{err}");
}

#[test]
fn a_password_over_tls_needs_no_permission() {
    for url in [
        "smtps://mailer:url-secret@mail.example.com:465",
        "smtp://mailer:url-secret@mail.example.com:587?tls=required",
    ] {
        let out = retentiond(
            &["check-config"],
            &[
                DB,
                ("RETENTIOND__MAIL__TRANSPORT", "smtp"),
                ("RETENTIOND__MAIL__SMTP_URL", url),
                ("RETENTIOND__MAIL__PASSWORD", "env-secret"),
            ],
        );
        let text = expect_code(&out, 0);
        assert!(text.contains("allow_auth_without_tls = false"), "{text}");
    }
}

#[test]
fn the_empty_password_file_the_package_ships_is_no_password_and_needs_no_tls() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("smtp-password");
    std::fs::write(&empty, "").unwrap();
    let out = retentiond(
        &["check-config"],
        &[
            DB,
            ("RETENTIOND__MAIL__TRANSPORT", "smtp"),
            ("RETENTIOND__MAIL__SMTP_URL", "smtp://127.0.0.1:25"),
            ("RETENTIOND__MAIL__PASSWORD_FILE", empty.to_str().unwrap()),
        ],
    );
    expect_code(&out, 0);
}

#[test]
fn allow_auth_without_tls_lets_the_password_go_without_tls_knowingly() {
    let dir = tempfile::tempdir().unwrap();
    let allow = [("RETENTIOND__MAIL__ALLOW_AUTH_WITHOUT_TLS", "true")];
    for (env, source) in password_without_tls(dir.path()) {
        let out = retentiond(&["check-config"], &with_db(&env, &allow));
        let text = expect_code(&out, 0);
        assert!(
            text.contains("allow_auth_without_tls = true"),
            "{source}: {text}"
        );
        for secret in ["url-secret", "env-secret", "file-secret"] {
            assert!(!text.contains(secret), "{secret} printed:\n{text}");
        }
    }
    // in the file as a TOML boolean, too
    let file = dir.path().join("retentiond.toml");
    std::fs::write(&file, "[mail]\nallow_auth_without_tls = true\n").unwrap();
    let (env, _) = password_without_tls(dir.path()).remove(0);
    let out = retentiond(
        &["--config", file.to_str().unwrap(), "check-config"],
        &with_db(&env, &[]),
    );
    expect_code(&out, 0);
    assert_bad(
        &[DB, ("RETENTIOND__MAIL__ALLOW_AUTH_WITHOUT_TLS", "yes")],
        &["mail.allow_auth_without_tls", "\"yes\"", "true or false"],
    );
}
