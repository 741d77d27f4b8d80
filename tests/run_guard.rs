//! What keeps a run from changing data: the guard holds a scheduled run
//! until an admin's manual run confirms it, a dry run changes nothing, a run
//! without a terminal or `--yes` refuses, and a branch without periods is a
//! clear error.

mod common;

use common::run::{old_guest, one, settings, world};
use common::{assert_anonymized, assert_untouched, day, expect_code, fx};
use retentiond::model::RunStatus;
use retentiond::retention::night::{self, NightWindow};

#[tokio::test]
async fn guard_holds_a_scheduled_run_and_a_manual_run_releases_it() {
    let w = world().await;
    fx::branch_settings_auto_delete(&w.c, w.branch).await;
    let overdue: Vec<i64> = {
        let mut v = Vec::new();
        for _ in 0..3 {
            v.push(old_guest(&w).await);
        }
        v
    };
    for _ in 0..7 {
        let g = fx::guest(&w.c, w.branch, day("2026-01-01")).await;
        fx::sale(&w.c, g, day("2026-01-01")).await;
    }
    // 3 of 10 not anonymized guests is over the 10 % guard
    let s = settings(&w.db, "[schedule]\nguard = \"0.1\"\n");
    // inside the night's window (02:30 CET = 01:30 UTC, three hours)
    let at = day("2026-11-25") - chrono::Duration::hours(10);
    let cx = common::context(s, at);
    let night = NightWindow {
        branch_id: w.branch,
        date: at.date_naive(),
        starts: at,
        ends: at + chrono::Duration::hours(3),
    };
    let mut reports = night::run_nights(&cx, &[night], None).await.unwrap();
    let report = reports.pop().expect("the night ran");
    assert_eq!(report.status, RunStatus::Held);
    assert_eq!(report.held.len(), 1);
    assert_eq!(report.held[0].candidates, 3);
    assert_eq!(report.held[0].not_anonymized, 10);
    // how to confirm is the edges' to say (status, summary mail, journal)
    assert_eq!(report.held[0].branch_id, w.branch);
    for g in &overdue {
        assert_untouched(&w.c, *g).await;
    }
    let held: i64 = fx::count(
        &w.c,
        &format!(
            "SELECT count(*) FROM retention.action_protocol
             WHERE action = 'run_held' AND branch_id = {} AND details->>'candidates' = '3'",
            w.branch
        ),
    )
    .await;
    assert_eq!(held, 1);
    let status: String = one(
        &w.c,
        "SELECT status FROM retention.runs WHERE id = $1",
        report.run_id,
    )
    .await;
    assert_eq!(status, "held");

    // the admin confirms by hand
    let out =
        w.db.cli(&["run", "--branch", &w.branch.to_string(), "--yes"]);
    let text = expect_code(&out, 0);
    assert!(text.contains("anonymized: 3"), "{text}");
    for g in &overdue {
        assert_anonymized(&w.c, *g).await;
    }
}

#[tokio::test]
async fn dry_run_changes_nothing() {
    let w = world().await;
    let g = old_guest(&w).await;
    let before = fx::count(&w.c, "SELECT count(*) FROM retention.action_protocol").await;
    let out = w.db.cli(&["run", "--dry-run"]);
    let text = expect_code(&out, 0);
    assert!(text.contains("dry run: nothing was changed"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>()
                == [w.branch.to_string().as_str(), "guest", "1", "0", "0"]),
        "{text}"
    );
    assert_untouched(&w.c, g).await;
    assert_eq!(
        fx::count(&w.c, "SELECT count(*) FROM retention.action_protocol").await,
        before
    );
    assert_eq!(
        fx::count(&w.c, "SELECT count(*) FROM retention.runs").await,
        0
    );
    assert_eq!(
        fx::count(&w.c, "SELECT count(*) FROM retention.run_candidates").await,
        0
    );
}

#[tokio::test]
async fn run_without_terminal_or_yes_refuses_and_changes_nothing() {
    let w = world().await;
    let g = old_guest(&w).await;
    let out = w.db.cli(&["run"]);
    expect_code(&out, 2);
    assert!(
        common::stderr(&out).contains("--yes"),
        "{}",
        common::stderr(&out)
    );
    assert_untouched(&w.c, g).await;
    assert_eq!(
        fx::count(&w.c, "SELECT count(*) FROM retention.runs").await,
        0
    );
}

#[tokio::test]
async fn run_of_a_branch_without_periods_is_a_clear_error() {
    let w = world().await;
    let other = fx::branch(&w.c, "Bonn", None).await;
    let out =
        w.db.cli(&["run", "--branch", &other.to_string(), "--dry-run"]);
    expect_code(&out, 2);
    assert!(common::stderr(&out).contains("no retention period"));
    let out = w.db.cli(&["run", "--branch", "999", "--dry-run"]);
    expect_code(&out, 2);
}
