//! What a policy change does before it is made: `policy set --dry-run`
//! reports, for every branch the change reaches (inheritance included), the
//! same figures that `pending` reports after the change is made, changes
//! nothing, and warns where the next night's guard would stop the run.

mod common;

use common::{day, expect_code, fx, TestDb};
use tokio_postgres::Client;

fn json(out: &str) -> serde_json::Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

/// Guests of `branch` whose only activity was a sale at `at`.
async fn guests(c: &Client, branch: i64, at: &str, n: usize) {
    for _ in 0..n {
        let g = fx::guest(c, branch, day(at)).await;
        fx::sale(c, g, day(at)).await;
    }
}

/// Per branch: (overdue, due soon, blocked) of personal data, as `pending` says.
fn pending_figures(doc: &serde_json::Value, branch: i64) -> (i64, i64, i64) {
    let b = doc["branches"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["branch_id"] == branch)
        .unwrap_or_else(|| panic!("branch {branch} in {doc}"));
    let sum = |status: &str| -> i64 {
        b["counts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["action"] == "anonymize" && c["status"] == status)
            .map(|c| c["guests"].as_i64().unwrap())
            .sum()
    };
    (sum("overdue"), sum("due_soon"), sum("blocked"))
}

fn whatif_figures(doc: &serde_json::Value, branch: i64, when: &str) -> (i64, i64, i64) {
    let b = doc["branches"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["branch_id"] == branch)
        .unwrap_or_else(|| panic!("branch {branch} in {doc}"));
    let get = |k: &str| b[k][when].as_i64().unwrap();
    (get("overdue"), get("due_soon"), get("blocked"))
}

#[tokio::test]
async fn a_what_if_equals_the_pending_report_after_the_change_and_changes_nothing() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let head = fx::branch(&c, "Zentrale", None).await;
    let child = fx::branch(&c, "Filiale", Some(head)).await;
    let other = fx::branch(&c, "Anderswo", None).await;
    fx::policy(&c, head, "guest", "10 years").await;
    fx::policy(&c, other, "guest", "10 years").await;
    // the head office: a few of many guests become overdue; its branch,
    // which inherits: every guest does
    guests(&c, head, "2026-09-01", 30).await;
    guests(&c, head, "2023-01-01", 2).await;
    guests(&c, child, "2022-06-01", 5).await;
    guests(&c, other, "2020-01-01", 3).await;
    let admin = db.login("admin").await;
    let pending_before = json(&expect_code(
        &db.cli_as(&admin, &["pending", "--format", "json"]),
        0,
    ));
    let protocol_before = fx::count(&c, "SELECT count(*) FROM retention.action_protocol").await;

    let set = [
        "policy",
        "set",
        "--branch",
        &head.to_string(),
        "--type",
        "guest",
        "--period",
        "3 years",
    ];
    let mut dry = set.to_vec();
    dry.extend_from_slice(&["--dry-run", "--format", "json"]);
    let whatif = json(&expect_code(&db.cli_as(&admin, &dry), 0));
    assert_eq!(whatif["dry_run"], true);
    assert_eq!(whatif["changed"], false);
    let reached: Vec<i64> = whatif["branches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["branch_id"].as_i64().unwrap())
        .collect();
    assert_eq!(
        reached,
        [head, child],
        "the branch and the one inheriting, no other"
    );
    // nothing changed: no period, no protocol row
    assert_eq!(
        fx::count(&c, &format!("SELECT count(*) FROM retention.policies WHERE branch_id = {head} AND period = '10 years'")).await,
        1
    );
    assert_eq!(
        fx::count(&c, "SELECT count(*) FROM retention.action_protocol").await,
        protocol_before
    );
    for b in [head, child] {
        assert_eq!(
            whatif_figures(&whatif, b, "before"),
            pending_figures(&pending_before, b)
        );
    }
    // the guard: the branch where every guest would go
    let find = |b: i64| {
        whatif["branches"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["branch_id"] == b)
            .unwrap()
            .clone()
    };
    assert_eq!(find(child)["guard_stops"], true);
    assert_eq!(find(head)["guard_stops"], false);

    // made for real: it says the same in a line per branch and warns
    let text = expect_code(&db.cli_as(&admin, &set), 0);
    assert!(
        text.contains(&format!("branch {child}: overdue 0 -> 5")),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "the next night's guard stops branch {child}'s run"
        )),
        "{text}"
    );
    let pending_after = json(&expect_code(
        &db.cli_as(&admin, &["pending", "--format", "json"]),
        0,
    ));
    for b in [head, child] {
        assert_eq!(
            whatif_figures(&whatif, b, "after"),
            pending_figures(&pending_after, b),
            "branch {b}: the what-if and pending after the change"
        );
    }
    assert_eq!(pending_figures(&pending_after, head).0, 2);

    // unset, tried: the head office falls back to having no period
    let unset = json(&expect_code(
        &db.cli_as(
            &admin,
            &[
                "policy",
                "unset",
                "--branch",
                &head.to_string(),
                "--type",
                "guest",
                "--dry-run",
                "--format",
                "json",
            ],
        ),
        0,
    ));
    assert_eq!(whatif_figures(&unset, head, "after").0, 0);
    assert_eq!(
        fx::count(
            &c,
            &format!("SELECT count(*) FROM retention.policies WHERE branch_id = {head}")
        )
        .await,
        1,
        "the dry run removed nothing"
    );
}
