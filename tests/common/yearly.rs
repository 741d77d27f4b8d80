//! The fixture of the yearly report's tests: a year of a branch built
//! through the real commands by two logins.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Europe::Berlin;
use serde_json::Value;
use tokio_postgres::Client;

use super::{day, expect_code, fx, stdout, TestDb};

/// The report's year: the current one in schedule.time_zone (the default,
/// Europe/Berlin), as the protocol's times are the database's now.
pub fn this_year() -> i32 {
    Utc::now().with_timezone(&Berlin).year()
}

/// The clause of the rows of `year`, as the report reads them.
pub fn in_year(year: i32) -> String {
    format!(
        "at >= make_timestamptz({year}, 1, 1, 0, 0, 0, 'Europe/Berlin') \
         AND at < make_timestamptz({}, 1, 1, 0, 0, 0, 'Europe/Berlin')",
        year + 1
    )
}

/// A guest of `branch` whose last sale was at `at` (type `guest`).
pub async fn guest_with_sale(c: &Client, branch: i64, at: DateTime<Utc>) -> i64 {
    let g = fx::guest(c, branch, at).await;
    fx::sale(c, g, at).await;
    g
}

/// The night of `date` in Berlin, ten minutes after it began (02:30).
pub fn night(date: NaiveDate) -> DateTime<Utc> {
    Berlin
        .from_local_datetime(&date.and_hms_opt(2, 40, 0).unwrap())
        .earliest()
        .unwrap()
        .with_timezone(&Utc)
}

/// Runs the nights due with the library's clock at `at` (the daemon's tick).
pub async fn nightly_tick(db: &TestDb, at: DateTime<Utc>) {
    let cx = super::context(super::settings(db, ""), at);
    let reports = retentiond::retention::night::run_due_nights(&cx, None)
        .await
        .unwrap();
    assert_eq!(reports.len(), 1, "one branch's night ran at {at}");
}

pub fn json(out: &std::process::Output) -> Value {
    expect_code(out, 0);
    serde_json::from_str(&stdout(out)).unwrap()
}

pub async fn count(c: &Client, sql: &str) -> i64 {
    fx::count(c, sql).await
}

pub struct History {
    pub db: TestDb,
    pub c: Client,
    pub branch: i64,
    pub alice: String,
    pub bob: String,
    /// The two nights the daemon ran.
    pub nights: [NaiveDate; 2],
}

/// The words of a command line; '…' keeps a value with blanks together.
pub fn words(line: &str) -> Vec<String> {
    line.split('\'')
        .enumerate()
        .flat_map(|(i, part)| match i % 2 {
            0 => part.split_whitespace().map(String::from).collect(),
            _ => vec![part.to_string()],
        })
        .collect()
}

/// Runs `line` as the login of `url`; it must succeed. Returns stdout.
pub fn ok(db: &TestDb, url: &str, line: &str) -> String {
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
pub async fn history() -> History {
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
pub fn report(db: &TestDb, url: &str, year: i32) -> Value {
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
