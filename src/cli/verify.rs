//! `protocol verify`: the hash chain checked, the verdict printed. The
//! verdict vouches for rows only up to a seal that matched a published one.

use serde_json::json;

use super::output::print_json;
use super::{Context, Format};
use crate::error::{Error, Result};
use crate::model::Seal;
use crate::retention::seals::{self, Verdict};

pub async fn verify(cx: &Context, published: Option<&Seal>, format: Format) -> Result<()> {
    let mut client = cx.client().await?;
    let verdict = seals::verify(&mut client, published).await?;
    match format {
        Format::Json => print_json(&json!(verdict))?,
        Format::Table if verdict.breach.is_none() => print_intact(&verdict, published),
        Format::Table => print_breach(&verdict, published),
    }
    match verdict.breach {
        None => Ok(()),
        Some(breach) => Err(Error::Tampered(breach.to_string())),
    }
}

fn print_intact(verdict: &Verdict, published: Option<&Seal>) {
    println!(
        "The action protocol is intact: {} row(s) in {} seal(s) checked.",
        verdict.rows, verdict.seals
    );
    match published {
        Some(p) => println!("It carries the published seal of row {}.", p.row_id),
        None => println!(
            "Checked against itself only: `protocol verify --seal ROW:HASH` with the seal of \
             an earlier completed-run mail also rules out a chain rewritten as a whole."
        ),
    }
    match &verdict.newest {
        Some(seal) => println!("Newest seal: {seal}"),
        None => println!("The protocol is empty: nothing is sealed yet."),
    }
}

fn print_breach(verdict: &Verdict, published: Option<&Seal>) {
    println!(
        "The action protocol is NOT intact: {} row(s) in {} seal(s) checked before the first \
         problem.",
        verdict.rows, verdict.seals
    );
    match (&verdict.confirmed, published) {
        (Some(seal), _) => println!(
            "Last good seal, checked against the published one: {seal}. The rows sealed up to \
             it are as they were when it was published."
        ),
        (None, Some(p)) => println!(
            "The published seal of row {} does not vouch for any row: the chain does not \
             reach it intact. No row can be taken as intact.",
            p.row_id
        ),
        (None, None) => println!(
            "No seal was checked against a published one, so no row can be taken as intact: \
             the seals before the problem hold in themselves only and may have been rewritten \
             too. Check with `protocol verify --seal ROW:HASH` and the seal of an earlier \
             completed-run mail."
        ),
    }
}
