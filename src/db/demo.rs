//! Demo data: one set-based INSERT … SELECT per table (`sql/demo/`).

use chrono::{DateTime, Utc};

use super::GenericClient;
use crate::error::Result;

/// The load's steps after the parameters, in order: (name, SQL).
pub const STEPS: &[(&str, &str)] = &[
    ("branches", include_str!("../../sql/demo/2_branches.sql")),
    ("guests", include_str!("../../sql/demo/3_guests.sql")),
    ("sales", include_str!("../../sql/demo/4_sales.sql")),
    (
        "reservations",
        include_str!("../../sql/demo/5_reservations.sql"),
    ),
    (
        "newsletter subscriptions",
        include_str!("../../sql/demo/6_newsletter.sql"),
    ),
    ("invoices", include_str!("../../sql/demo/7_invoices.sql")),
    ("customer cards", include_str!("../../sql/demo/8_cards.sql")),
    ("sequences", include_str!("../../sql/demo/9_sequences.sql")),
];

/// The parameters of a load.
#[derive(Debug)]
pub struct Params {
    /// Guests.
    pub guests: i64,
    /// Branches; the first is the head office.
    pub branches: i64,
    /// Generator seed.
    pub seed: i32,
    /// The "today" the data is built around.
    pub anchor: DateTime<Utc>,
}

/// Whether the guest database holds branches or guests.
pub async fn occupied(client: &impl GenericClient) -> Result<bool> {
    Ok(query!("demo_occupied").one(client, &[]).await?.get(0))
}

/// Sets up the generator and its parameters in the caller's transaction.
pub async fn prepare(tx: &impl GenericClient, p: &Params) -> Result<()> {
    tx.batch_execute("SET LOCAL synchronous_commit = off")
        .await?;
    tx.batch_execute(include_str!("../../sql/demo/1_random.sql"))
        .await?;
    query!("demo_params")
        .exec(tx, &[&p.branches, &p.anchor, &p.seed, &p.guests])
        .await?;
    Ok(())
}

/// Runs one step; returns the rows it wrote.
pub async fn step(tx: &impl GenericClient, sql: &str) -> Result<u64> {
    Ok(tx.execute(sql, &[]).await?)
}

/// Fresh planner statistics for the loaded tables.
pub async fn analyze(client: &impl GenericClient) -> Result<()> {
    query!("demo_vacuum").batch(client).await?;
    Ok(())
}
