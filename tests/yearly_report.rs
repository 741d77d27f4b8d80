//! The yearly report: every figure of `report --format json` equals what a
//! direct count over the action protocol says, after a year of history made
//! by the real commands (periods and settings set by two logins, nightly
//! runs of the library with its clock at past nights, a manual run, erasure
//! requests decided by a second login, an export); its HTML names no guest,
//! runs no script, loads nothing, and is a private file like an export; and
//! a granted login gets the same report as the owner.

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Europe::Berlin;
use common::{day, expect_code, fx, stdout, TestDb};
use serde_json::Value;
use tokio_postgres::Client;

/// The report's year: the current one in schedule.time_zone (the default,
/// Europe/Berlin), as the protocol's times are the database's now.
fn this_year() -> i32 {
    Utc::now().with_timezone(&Berlin).year()
}

/// The clause of the rows of `year`, as the report reads them.
fn in_year(year: i32) -> String {
    format!(
        "at >= make_timestamptz({year}, 1, 1, 0, 0, 0, 'Europe/Berlin') \
         AND at < make_timestamptz({}, 1, 1, 0, 0, 0, 'Europe/Berlin')",
        year + 1
    )
}

/// A guest of `branch` whose last sale was at `at` (type `guest`).
async fn guest_with_sale(c: &Client, branch: i64, at: DateTime<Utc>) -> i64 {
    let g = fx::guest(c, branch, at).await;
    fx::sale(c, g, at).await;
    g
}

/// The night of `date` in Berlin, ten minutes after it began (02:30).
fn night(date: NaiveDate) -> DateTime<Utc> {
    Berlin
        .from_local_datetime(&date.and_hms_opt(2, 40, 0).unwrap())
        .earliest()
        .unwrap()
        .with_timezone(&Utc)
}

/// Runs the nights due with the library's clock at `at` (the daemon's tick).
async fn nightly_tick(db: &TestDb, at: DateTime<Utc>) {
    let cx = common::context(common::settings(db, ""), at);
    let reports = retentiond::retention::night::run_due_nights(&cx, None)
        .await
        .unwrap();
    assert_eq!(reports.len(), 1, "one branch's night ran at {at}");
}

fn json(out: &std::process::Output) -> Value {
    expect_code(out, 0);
    serde_json::from_str(&stdout(out)).unwrap()
}

async fn count(c: &Client, sql: &str) -> i64 {
    fx::count(c, sql).await
}

struct History {
    db: TestDb,
    c: Client,
    branch: i64,
    alice: String,
    bob: String,
    /// The two nights the daemon ran.
    nights: [NaiveDate; 2],
}

/// The words of a command line; '…' keeps a value with blanks together.
fn words(line: &str) -> Vec<String> {
    line.split('\'')
        .enumerate()
        .flat_map(|(i, part)| match i % 2 {
            0 => part.split_whitespace().map(String::from).collect(),
            _ => vec![part.to_string()],
        })
        .collect()
}

/// Runs `line` as the login of `url`; it must succeed. Returns stdout.
fn ok(db: &TestDb, url: &str, line: &str) -> String {
    let args = words(line);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = db.cli_as(url, &args);
    expect_code(&out, 0);
    stdout(&out)
}

/// A branch's year: periods and settings set by alice and bob, two nightly
/// runs nine and six days ago, a manual run by alice, three erasure
/// requests by alice (approved, rejected and open, decided by bob), an
/// export by bob.
async fn history() -> History {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let branch = fx::branch(&c, "Köln", None).await;
    let _other = fx::branch(&c, "Bonn", Some(branch)).await;
    let alice = db.login("alice").await;
    let bob = db.login("bob").await;
    let b = branch;
    ok(
        &db,
        &alice,
        &format!("policy set --branch {b} --type guest --period '3 years' --actor alice"),
    );
    ok(
        &db,
        &alice,
        &format!("policy set --branch {b} --type regular_guest --period '5 years' --actor alice"),
    );
    ok(
        &db,
        &bob,
        &format!("policy unset --branch {b} --type regular_guest --actor bob"),
    );
    ok(
        &db,
        &alice,
        &format!("settings set --branch {b} --auto-delete on --actor alice"),
    );

    // due at the first night, at the second, and only now
    let today = Utc::now().with_timezone(&Berlin).date_naive();
    let nights = [today - Duration::days(9), today - Duration::days(6)];
    let three_years = |d: NaiveDate| night(d) - Duration::days(3 * 365 + 5);
    guest_with_sale(&c, branch, three_years(nights[0])).await;
    guest_with_sale(&c, branch, three_years(nights[0])).await;
    guest_with_sale(&c, branch, three_years(nights[1])).await;
    nightly_tick(&db, night(nights[0])).await;
    nightly_tick(&db, night(nights[1])).await;
    guest_with_sale(&c, branch, Utc::now() - Duration::days(3 * 366 + 3)).await;
    ok(&db, &alice, "run --yes --actor alice");

    let mut requests = Vec::new();
    for _ in 0..3 {
        let g = guest_with_sale(&c, branch, day("2026-10-01")).await;
        let line = format!("erasure request --guest {g} --reason mail --actor alice --format json");
        let answer: Value = serde_json::from_str(&ok(&db, &alice, &line)).unwrap();
        let id = answer["request_id"].as_i64().unwrap();
        requests.push((g, id));
    }
    let ((_, approved), (_, rejected), (open, _)) = (requests[0], requests[1], requests[2]);
    ok(
        &db,
        &bob,
        &format!("erasure approve --request {approved} --actor bob"),
    );
    ok(
        &db,
        &bob,
        &format!("erasure reject --request {rejected} --reason invoice --actor bob"),
    );
    let dir = tempfile::tempdir().unwrap();
    let zip = dir.path().join("guest.zip");
    ok(
        &db,
        &bob,
        &format!("export --guest {open} --out {} --actor bob", zip.display()),
    );
    History {
        db,
        c,
        branch,
        alice,
        bob,
        nights,
    }
}

/// `report --year Y --format json` of `url`'s login (written to a scratch file).
fn report(db: &TestDb, url: &str, year: i32) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report.html");
    let y = year.to_string();
    json(&db.cli_as(
        url,
        &[
            "report",
            "--year",
            &y,
            "--out",
            out.to_str().unwrap(),
            "--format",
            "json",
        ],
    ))
}

/// Action → type → rows per month, as the protocol says.
async fn protocol_months(c: &Client, year: i32) -> BTreeMap<(i64, String, String), i64> {
    let sql = format!(
        "SELECT extract(month FROM at AT TIME ZONE 'Europe/Berlin')::bigint, action, guest_type,
                count(*)
         FROM retention.action_protocol
         WHERE {} AND action IN ('guest_anonymized', 'fiscal_data_erased', 'newsletter_unsubscribed')
         GROUP BY 1, 2, 3",
        in_year(year)
    );
    c.query(&sql, &[])
        .await
        .unwrap()
        .iter()
        .map(|r| ((r.get(0), r.get(1), r.get(2)), r.get(3)))
        .collect()
}

fn report_months(report: &Value) -> BTreeMap<(i64, String, String), i64> {
    let mut out = BTreeMap::new();
    for m in report["months"].as_array().unwrap() {
        for (action, types) in m["counts"].as_object().unwrap() {
            for (t, n) in types.as_object().unwrap() {
                let key = (m["month"].as_i64().unwrap(), action.clone(), t.clone());
                out.insert(key, n.as_i64().unwrap());
            }
        }
    }
    out
}

/// The nights between the first night and the latest one whose window
/// (02:30 for 3 hours, Berlin) has ended, without a run: the missed ones.
fn expected_missed(nights: [NaiveDate; 2], year: i32) -> Vec<String> {
    let now = Utc::now().with_timezone(&Berlin);
    let closed = night(now.date_naive()) - Duration::minutes(10) + Duration::hours(3);
    let last = if Utc::now() >= closed {
        now.date_naive()
    } else {
        now.date_naive() - Duration::days(1)
    };
    nights[0]
        .iter_days()
        .take_while(|d| *d <= last)
        .filter(|d| !nights.contains(d) && d.year() == year)
        .map(|d| d.to_string())
        .collect()
}

/// The figures of one report against the protocol, part by part.
struct Check<'a> {
    h: &'a History,
    r: Value,
    year: i32,
}

#[tokio::test]
async fn every_figure_of_the_report_equals_the_protocol() {
    let h = history().await;
    let year = this_year();
    let r = report(&h.db, &h.db.url, year);
    let check = Check { h: &h, r, year };
    check.months().await;
    check.nights().await;
    check.erasures().await;
    check.records().await;
    check.periods_and_seal().await;
}

impl Check<'_> {
    /// Anonymizations, unsubscriptions and fiscal erasures per month and type.
    async fn months(&self) {
        let (r, c, year) = (&self.r, &self.h.c, self.year);
        let within = in_year(year);
        assert_eq!(
            report_months(r),
            protocol_months(c, year).await,
            "per month and type"
        );
        let anonymized: i64 = r["totals"]["guest_anonymized"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_i64().unwrap())
            .sum();
        let sql = format!("SELECT count(*) FROM retention.action_protocol WHERE action = 'guest_anonymized' AND {within}");
        assert_eq!(anonymized, count(c, &sql).await);
        assert_eq!(
            anonymized, 5,
            "three by the nights, one by alice's run, one approved"
        );
    }

    /// The runs of the line and the missed nights.
    async fn nights(&self) {
        let (h, r, c, year) = (self.h, &self.r, &self.h.c, self.year);
        let within = in_year(year);
        // the line of the nights: one point per run_finished row
        let runs = r["runs"].as_array().unwrap();
        let sql = format!(
            "SELECT count(*) FROM retention.action_protocol WHERE action = 'run_finished' AND {within}"
        );
        assert_eq!(runs.len() as i64, count(c, &sql).await);
        assert_eq!(runs.len(), 3);
        for run in runs {
            let id = run["run_id"].as_i64().unwrap();
            let done = count(c, &format!("SELECT count(*) FROM retention.action_protocol WHERE action = 'guest_anonymized' AND run_id = {id}")).await;
            assert_eq!(run["anonymized"].as_i64().unwrap(), done, "run {id}");
            let left = count(c, &format!("SELECT (details->>'remaining')::bigint FROM retention.action_protocol WHERE action = 'run_finished' AND run_id = {id}")).await;
            assert_eq!(run["remaining"].as_i64().unwrap(), left, "run {id}");
        }
        let kinds: Vec<&str> = runs.iter().map(|x| x["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["scheduled", "scheduled", "manual"]);
        let nights: Vec<String> = runs[..2]
            .iter()
            .map(|x| x["night"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(nights, h.nights.map(|n| n.to_string()));

        let missed: Vec<String> = r["missed_nights"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["night"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(missed, expected_missed(h.nights, year));
    }

    /// Erasure requests against the month, with both logins.
    async fn erasures(&self) {
        let (h, r, c, year) = (self.h, &self.r, &self.h.c, self.year);
        let within = in_year(year);
        // erasure requests against the month, with both logins
        let e = &r["erasures"];
        let n = |action: &str| {
            format!(
                "SELECT count(*) FROM retention.action_protocol WHERE action = '{action}' AND {within}"
            )
        };
        assert_eq!(
            e["requested"].as_i64().unwrap(),
            count(c, &n("erasure_requested")).await
        );
        let decided =
            count(c, &n("erasure_approved")).await + count(c, &n("erasure_rejected")).await;
        assert_eq!(e["answered_in_time"].as_i64().unwrap(), decided);
        assert_eq!(
            (
                decided,
                e["answered_late"].as_i64().unwrap(),
                e["open"].as_i64().unwrap()
            ),
            (2, 0, 1)
        );
        for req in e["requests"].as_array().unwrap() {
            let id = req["request_id"].as_i64().unwrap();
            assert_eq!(
                req["requested_login"].as_str(),
                Some(h.alice_login()),
                "request {id}"
            );
            if !req["outcome"].is_null() {
                assert_eq!(
                    req["decided_login"].as_str(),
                    Some(h.bob_login()),
                    "request {id}"
                );
                assert_eq!(req["days"], 0);
            }
        }
    }

    /// Exports and changes: each protocol row, with its login.
    async fn records(&self) {
        let (r, c, year) = (&self.r, &self.h.c, self.year);
        let within = in_year(year);
        // exports and changes: each protocol row, with its login
        let rows = |sql: String| async move {
            c.query(&sql, &[])
                .await
                .unwrap()
                .iter()
                .map(|r| (r.get::<_, i64>(0), r.get::<_, Option<String>>(1)))
                .collect::<Vec<_>>()
        };
        let listed = |key: &str| -> Vec<(i64, Option<String>)> {
            r[key]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| {
                    (
                        x["id"].as_i64().unwrap(),
                        x["login"].as_str().map(String::from),
                    )
                })
                .collect()
        };
        let exports = rows(format!("SELECT id, details->>'login' FROM retention.action_protocol WHERE action = 'export_created' AND {within} ORDER BY id")).await;
        assert_eq!(listed("exports"), exports);
        assert_eq!(exports.len(), 1);
        let changes = rows(format!("SELECT id, details->>'login' FROM retention.action_protocol WHERE action IN ('policy_changed', 'settings_changed') AND {within} ORDER BY id")).await;
        assert_eq!(listed("changes"), changes);
        assert_eq!(changes.len(), 4);
    }

    /// The periods in force, and the seal as protocol verify says.
    async fn periods_and_seal(&self) {
        let (r, c) = (&self.r, &self.h.c);
        let mut expected: Vec<(i64, String, Option<String>)> = c
            .query(
                "SELECT branch_id, guest_type, period::text FROM retention.effective_policies",
                &[],
            )
            .await
            .unwrap()
            .iter()
            .map(|x| (x.get(0), x.get(1), x.get(2)))
            .collect();
        let mut listed: Vec<(i64, String, Option<String>)> = r["periods"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["branch_id"].as_i64().unwrap(),
                    p["guest_type"].as_str().unwrap().to_string(),
                    p["period"].as_str().map(String::from),
                )
            })
            .collect();
        // the report also names the types without a period (None)
        listed.retain(|p| p.2.is_some());
        expected.retain(|p| p.2.is_some());
        expected.sort();
        listed.sort();
        assert!(!listed.is_empty());
        assert_eq!(listed, expected);
        let verify = json(&self.h.db.cli(&["protocol", "verify", "--format", "json"]));
        assert_eq!(verify["intact"], true);
        assert_eq!(r["seal"]["intact"], verify["intact"]);
        // the report's verify ran first: its newest seal is at most the later one
        let pos = |v: &Value| {
            v["newest"]
                .as_str()
                .and_then(|s| s.split(':').next())
                .and_then(|p| p.parse::<i64>().ok())
                .unwrap_or_else(|| panic!("a newest seal in {v}"))
        };
        assert!(pos(&r["seal"]) <= pos(&verify), "{} {}", r["seal"], verify);
        assert_eq!(
            r["seal"]["newest"], verify["newest"],
            "no protocol row between the two"
        );
    }
}

impl History {
    fn alice_login(&self) -> &str {
        login_of(&self.alice)
    }
    fn bob_login(&self) -> &str {
        login_of(&self.bob)
    }
}

fn login_of(url: &str) -> &str {
    url.split_whitespace()
        .find_map(|kv| kv.strip_prefix("user="))
        .unwrap()
}

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
