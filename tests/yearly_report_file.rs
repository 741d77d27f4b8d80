//! The yearly report as a file: no guest named, nothing loaded or run, a
//! private file like an export; and the year's legal holds and pauses as
//! the protocol has them.

mod common;

use std::os::unix::fs::PermissionsExt;

use chrono::Utc;
use common::yearly::*;
use common::{expect_code, fx, TestDb};
use serde_json::Value;

/// `retentiond report …` under umask 022.
fn report_file(db: &TestDb, out: &std::path::Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "-c".to_string(),
        "umask 022 && exec \"$0\" \"$@\"".to_string(),
        env!("CARGO_BIN_EXE_retentiond").to_string(),
    ];
    args.extend(
        [
            "report",
            "--year",
            &this_year().to_string(),
            "--out",
            out.to_str().unwrap(),
        ]
        .map(String::from),
    );
    args.extend(extra.iter().map(|s| s.to_string()));
    let cmd = db.command(&[], &[]);
    let envs: Vec<(String, String)> = cmd
        .get_envs()
        .filter_map(|(k, v)| Some((k.to_str()?.to_string(), v?.to_str()?.to_string())))
        .collect();
    std::process::Command::new("sh")
        .args(&args)
        .env_clear()
        .envs(envs)
        .output()
        .unwrap()
}

#[tokio::test]
async fn the_html_names_no_guest_runs_nothing_and_is_a_private_file() {
    let h = history().await;
    // a guest nobody touched keeps its data in the database
    guest_with_sale(&h.c, h.branch, Utc::now()).await;
    let dir = tempfile::tempdir().unwrap();
    for locale in ["de", "en"] {
        let out = dir.path().join(format!("report-{locale}.html"));
        expect_code(&report_file(&h.db, &out, &["--locale", locale]), 0);
        let html = std::fs::read_to_string(&out).unwrap();
        for personal in [
            "Erika",
            "Mustermann",
            "erika@example.com",
            "1234567",
            "Heidestraße",
            "Nüsse",
            // the birthday, in either form (a bare year can occur in a seal's hash)
            "1964-08-12",
            "12.08.1964",
        ] {
            assert!(
                !html.contains(personal),
                "{locale}: {personal} in the report"
            );
        }
        let lower = html.to_lowercase();
        for loaded in [
            "<script", "http://", "https://", "src=", "url(", "@import", "<link",
        ] {
            assert!(!lower.contains(loaded), "{locale}: {loaded} in the report");
        }
        assert!(
            html.contains("<svg") && html.contains("size: A4"),
            "{locale}"
        );
        let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "mode {mode:o}");
    }
    let out = dir.path().join("report-en.html");
    std::fs::write(&out, "mine").unwrap();
    let refused = report_file(&h.db, &out, &[]);
    expect_code(&refused, 2);
    assert!(common::stderr(&refused).contains("--force"));
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "mine",
        "not replaced"
    );
    expect_code(&report_file(&h.db, &out, &["--force"]), 0);
    assert!(std::fs::read_to_string(&out).unwrap().contains("<svg"));
    let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "mode {mode:o}");
    let files = std::fs::read_dir(dir.path()).unwrap().count();
    assert_eq!(files, 2, "no temporary file is left");
}

#[tokio::test]
async fn a_granted_login_gets_the_same_report_as_the_owner() {
    let h = history().await;
    let year = this_year();
    let mut owner = report(&h.db, &h.db.url, year);
    let mut login = report(&h.db, &h.bob, year);
    for r in [&mut owner, &mut login] {
        let o = r.as_object_mut().unwrap();
        o.remove("generated_at");
        o.remove("path");
    }
    assert_eq!(login, owner);
    // one branch: its nights only, and the file is written
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("branch.html");
    let y = year.to_string();
    let only = h.branch.to_string();
    let args = [
        "report",
        "--year",
        &y,
        "--branch",
        &only,
        "--out",
        out.to_str().unwrap(),
        "--format",
        "json",
    ];
    let branch = json(&h.db.cli_as(&h.bob, &args));
    assert_eq!(branch["branch_id"], h.branch);
    let nights: Vec<&Value> = branch["runs"].as_array().unwrap().iter().collect();
    assert_eq!(
        nights.len(),
        2,
        "the manual run over both branches is in the report of all"
    );
    assert!(nights
        .iter()
        .all(|n| n["kind"] == "scheduled" && n["branch_id"] == h.branch));
    assert!(std::fs::read_to_string(&out).unwrap().contains("<svg"));
}

#[tokio::test]
async fn holds_and_pauses_of_the_year_are_the_protocol_rows() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let b = fx::branch(&c, "Köln", None).await;
    let g = guest_with_sale(&c, b, Utc::now() - chrono::Duration::days(30)).await;
    let admin = db.login("admin").await;
    let until = (Utc::now() + chrono::Duration::days(3)).to_rfc3339();
    for line in [
        format!("hold add --guest {g} --reason case-17"),
        "hold release --hold 1".to_string(),
        format!("pause --branch {b} --reason incident --until {until}"),
        format!("resume --branch {b}"),
    ] {
        ok(&db, &admin, &line);
    }
    let r = report(&db, &admin, this_year());
    let listed: Vec<(i64, String)> = r["holds_and_pauses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["id"].as_i64().unwrap(),
                x["action"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expected: Vec<(i64, String)> = c
        .query(
            "SELECT id, action FROM retention.action_protocol
             WHERE action IN ('hold_placed', 'hold_released', 'paused', 'resumed', 'pause_ended')
             ORDER BY id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|x| (x.get(0), x.get(1)))
        .collect();
    assert_eq!(listed.len(), 4);
    assert_eq!(listed, expected);
    // neither the case nor the incident leave the database
    assert!(!r.to_string().contains("case-17") && !r.to_string().contains("incident"));
}
