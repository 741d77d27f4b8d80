//! `demo-data`: fills an empty guest database with reproducible demo data,
//! set-based (one INSERT … SELECT per table), for the demo and benchmarks.

use std::time::Instant;

use serde_json::json;

use super::output::emit;
use super::{invalid, Context, DemoDataArgs};
use crate::error::Result;
use crate::retention::demo::{self, Params};

pub async fn demo_data(cx: &Context, args: &DemoDataArgs) -> Result<()> {
    if !(1..=50_000_000).contains(&args.guests) {
        return Err(invalid("--guests must be from 1 to 50000000"));
    }
    if !(1..=1000).contains(&args.branches) {
        return Err(invalid("--branches must be from 1 to 1000"));
    }
    let anchor = args.anchor.unwrap_or_else(|| {
        cx.clock
            .now()
            .date_naive()
            .and_hms_opt(0, 0, 0)
            .expect("midnight exists")
            .and_utc()
    });
    let started = Instant::now();
    let params = Params {
        guests: args.guests,
        branches: args.branches,
        seed: args.seed,
        anchor,
    };
    demo::load(cx, &params).await?;
    let seconds = started.elapsed().as_secs_f64();
    emit(
        args.out.format,
        json!({"guests": args.guests, "branches": args.branches, "seed": args.seed,
               "anchor": anchor.format("%Y-%m-%d").to_string(), "seconds": seconds}),
        || {
            format!(
                "demo data: {} guests in {} branches (seed {}, anchor {}) loaded in {seconds:.1}s",
                args.guests,
                args.branches,
                args.seed,
                anchor.format("%Y-%m-%d"),
            )
        },
    )
}
