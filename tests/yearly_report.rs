//! The yearly report: every figure of `report --format json` equals what a
//! direct count over the action protocol says, after a year of history made
//! by the real commands (periods and settings set by two logins, nightly
//! runs of the library with its clock at past nights, a manual run, erasure
//! requests decided by a second login, an export); its HTML names no guest,
//! runs no script, loads nothing, and is a private file like an export; and
//! a granted login gets the same report as the owner.

mod common;

use std::collections::BTreeMap;

use chrono::{Datelike, Duration, NaiveDate, Utc};
use chrono_tz::Europe::Berlin;
use common::yearly::*;
use serde_json::Value;
use tokio_postgres::Client;

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
