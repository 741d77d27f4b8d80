//! Secrets never show: no form of the database password is ever printed,
//! and a password read from a file shows only as the file's name.

mod common;

use common::{expect_code, stderr, TestDb};

#[tokio::test]
async fn no_form_of_the_database_password_is_ever_printed() {
    let db = TestDb::migrated().await;
    for url in [
        "host=127.0.0.1 user=app password = s3cret dbname=guests",
        "host=127.0.0.1 user=app password='s3cret with spaces' dbname=guests",
        "postgres://app:s3%63ret@127.0.0.1/guests",
        "postgres://127.0.0.1/guests?user=app&password=s3cret",
    ] {
        let out = db.cli_env(&["check-config"], &[("RETENTIOND__DATABASE__URL", url)]);
        let shown = expect_code(&out, 0);
        assert!(!shown.contains("s3c"), "{url}: {shown}");
        assert!(shown.contains("***"), "{url}: {shown}");
    }
    // a string the driver cannot read is not quoted back at all
    let out = db.cli_env(
        &["check-config"],
        &[(
            "RETENTIOND__DATABASE__URL",
            "host=db password='s3cret unterminated",
        )],
    );
    expect_code(&out, 2);
    assert!(!stderr(&out).contains("s3c"), "{}", stderr(&out));
}

#[tokio::test]
async fn the_database_password_can_come_from_a_file_that_is_never_printed() {
    let db = TestDb::migrated().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("db-password");
    std::fs::write(&file, "s3cret\n").unwrap();
    let out = db.cli_env(
        &["check-config"],
        &[(
            "RETENTIOND__DATABASE__PASSWORD_FILE",
            file.to_str().unwrap(),
        )],
    );
    let shown = expect_code(&out, 0);
    assert!(shown.contains(file.to_str().unwrap()), "{shown}");
    assert!(!shown.contains("s3c"), "{shown}");
    // commands work with it (the test cluster trusts, but reads the file)
    expect_code(
        &db.cli_env(
            &["status"],
            &[(
                "RETENTIOND__DATABASE__PASSWORD_FILE",
                file.to_str().unwrap(),
            )],
        ),
        0,
    );
    let missing = dir.path().join("nope");
    let out = db.cli_env(
        &["check-config"],
        &[(
            "RETENTIOND__DATABASE__PASSWORD_FILE",
            missing.to_str().unwrap(),
        )],
    );
    expect_code(&out, 2);
    assert!(
        stderr(&out).contains("database.password_file"),
        "{}",
        stderr(&out)
    );
}
