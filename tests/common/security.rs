//! The fixture of the security_* tests.

use tokio_postgres::Client;

use super::{day, fx};

/// A branch with a guest period and one overdue guest; returns (branch, guest).
pub async fn guest(c: &Client) -> (i64, i64) {
    let b = fx::branch(c, "Köln", None).await;
    fx::policy(c, b, "guest", "3 years").await;
    let g = fx::guest(c, b, day("2020-01-01")).await;
    fx::sale(c, g, day("2020-01-01")).await;
    (b, g)
}

/// The SQLSTATE of a statement that must fail.
pub async fn refused(c: &Client, sql: &str) -> String {
    let e = c.batch_execute(sql).await.expect_err(sql);
    e.code().map(|c| c.code().to_string()).unwrap_or_default()
}
