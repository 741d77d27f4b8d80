//! The world of the classification_* tests: a head office, and each guest
//! classified through the one SQL definition the pending report and the run
//! use as well.

use chrono::{DateTime, Duration, Utc};
use retentiond::retention::classify::{classify_guest, Classification, Status};

use super::{day, fx, TestDb};

pub const D: fn(i64) -> Duration = Duration::days;

pub struct World {
    pub db: TestDb,
    pub c: tokio_postgres::Client,
    pub pool: retentiond::retention::Pool,
    pub head: i64,
}

pub async fn world() -> World {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let head = fx::branch(&c, "Zentrale", None).await;
    let pool = db.pool();
    World { db, c, pool, head }
}

impl World {
    pub async fn classify(&self, guest: i64, at: DateTime<Utc>) -> Classification {
        let client = self.pool.get().await.unwrap();
        classify_guest(&client, guest, at).await.unwrap()
    }

    /// Asserts the status one day before and one day after `deadline`.
    pub async fn assert_boundary(
        &self,
        guest: i64,
        deadline: DateTime<Utc>,
        before: Status,
        after: Status,
    ) {
        assert_eq!(
            self.classify(guest, deadline - D(1)).await.status,
            before,
            "one day before {deadline}"
        );
        assert_eq!(
            self.classify(guest, deadline + D(1)).await.status,
            after,
            "one day after {deadline}"
        );
    }
}

pub async fn company_guest(w: &World, verified: bool) -> i64 {
    let g = fx::guest(&w.c, w.head, day("2019-04-10")).await;
    fx::set_company(&w.c, g, "ACME GmbH").await;
    if verified {
        fx::set_verified(&w.c, g).await;
    }
    fx::sale(&w.c, g, day("2020-04-10")).await;
    fx::invoice(&w.c, g, day("2020-05-10"), true).await;
    g
}
