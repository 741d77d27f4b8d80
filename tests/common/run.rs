//! The world of the run_* tests: a branch with a period for each type but
//! the newsletter subscriber, overdue guests, and a manual run of the
//! library with the clock where the test wants it.

use chrono::{DateTime, Utc};
use retentiond::retention::run::RunReport;
use retentiond::settings::Settings;
use tokio_postgres::Client;

use super::{day, fx, manual, TestDb};

pub fn settings(db: &TestDb, extra: &str) -> Settings {
    super::settings(db, &format!("size = \"100\"\n{extra}"))
}

/// A manual run over `branches` with the clock at `at`.
pub async fn run_at(db: &TestDb, branches: &[i64], at: DateTime<Utc>) -> RunReport {
    let s = settings(db, "");
    let opts = manual(&s);
    let cx = super::context(s, at);
    let prepared = super::prepare(&cx, branches).await;
    // a run that found its branch busy would do nothing and prove nothing
    assert!(
        prepared.locked_elsewhere.is_empty(),
        "the branches are free: an earlier run released them when it ended"
    );
    prepared
        .execute(&cx, &opts)
        .await
        .unwrap()
        .expect("a manual run is always recorded")
}

pub async fn one<T: for<'a> tokio_postgres::types::FromSql<'a>>(
    c: &Client,
    sql: &str,
    id: i64,
) -> T {
    c.query_one(sql, &[&id]).await.unwrap().get(0)
}

pub async fn protocol_count(c: &Client, action: &str, guest: i64) -> i64 {
    c.query_one(
        "SELECT count(*) FROM retention.action_protocol WHERE action = $1 AND guest_id = $2",
        &[&action, &guest],
    )
    .await
    .unwrap()
    .get(0)
}

pub struct World {
    pub db: TestDb,
    pub c: Client,
    pub branch: i64,
}

pub async fn world() -> World {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let branch = fx::branch(&c, "Köln", None).await;
    fx::policy(&c, branch, "guest", "3 years").await;
    fx::policy(&c, branch, "regular_guest", "5 years").await;
    fx::policy(&c, branch, "company_guest", "10 years").await;
    fx::policy(&c, branch, "guest_without_sale", "1 year").await;
    World { db, c, branch }
}

/// An overdue `guest` with a sale on 2020-01-01 (deadline 2023-01-01).
pub async fn old_guest(w: &World) -> i64 {
    let g = fx::guest(&w.c, w.branch, day("2020-01-01")).await;
    fx::sale(&w.c, g, day("2020-01-01")).await;
    g
}
