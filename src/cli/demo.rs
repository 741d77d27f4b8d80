//! `demo-data`: fills an empty guest database with reproducible demo data,
//! set-based (one INSERT … SELECT per table), for the demo and benchmarks.

use std::time::Instant;

use chrono::{DateTime, Utc};

use super::{invalid, DemoDataArgs};
use crate::db;
use crate::error::Result;
use crate::settings::Settings;

const STEPS: &[(&str, &str)] = &[
    ("parameters", include_str!("../../sql/demo/1_random.sql")),
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

pub async fn demo_data(settings: &Settings, args: &DemoDataArgs, now: DateTime<Utc>) -> Result<()> {
    if !(1..=50_000_000).contains(&args.guests) {
        return Err(invalid("--guests must be from 1 to 50000000"));
    }
    if !(1..=1000).contains(&args.branches) {
        return Err(invalid("--branches must be from 1 to 1000"));
    }
    let anchor = args.anchor.unwrap_or_else(|| {
        now.date_naive()
            .and_hms_opt(0, 0, 0)
            .expect("midnight exists")
            .and_utc()
    });
    let pool = db::connect_pool(&settings.database)?;
    let mut client = db::connect_checked(&pool).await?;
    let started = Instant::now();
    let tx = client.transaction().await?;
    let occupied: bool = tx
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM public.guests) OR EXISTS (SELECT 1 FROM public.branches)",
            &[],
        )
        .await?
        .get(0);
    if occupied {
        return Err(invalid(
            "the guest database already holds branches or guests: demo-data only fills an \
             empty database, so that demo guests never mix with real ones",
        ));
    }
    tx.batch_execute("SET LOCAL synchronous_commit = off")
        .await?;
    for (i, (name, sql)) in STEPS.iter().enumerate() {
        let step = Instant::now();
        if i == 0 {
            tx.batch_execute(sql).await?;
            tx.execute(
                "INSERT INTO pg_temp.demo_params (branches, anchor, seed, guests) VALUES ($1, $2, $3, $4)",
                &[&args.branches, &anchor, &args.seed, &args.guests],
            )
            .await?;
            continue;
        }
        let rows = tx.execute(*sql, &[]).await?;
        tracing::info!(
            demo.step = name,
            demo.rows = rows,
            elapsed_ms = step.elapsed().as_millis() as u64,
            "demo data step"
        );
    }
    tx.commit().await?;
    client
        .batch_execute(
            "VACUUM (ANALYZE) public.branches, public.guests, public.sales, public.reservations,
             public.newsletter_subscriptions, public.invoices, public.customer_cards",
        )
        .await?;
    println!(
        "demo data: {} guests in {} branches (seed {}, anchor {}) loaded in {:.1}s",
        args.guests,
        args.branches,
        args.seed,
        anchor.format("%Y-%m-%d"),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
