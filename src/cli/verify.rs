//! `protocol verify`: the hash chain checked, the verdict printed.

use serde_json::json;

use super::output::print_json;
use super::{Context, Format};
use crate::error::{Error, Result};
use crate::model::Seal;
use crate::retention::seals;

pub async fn verify(cx: &Context, published: Option<&Seal>, format: Format) -> Result<()> {
    let mut client = cx.client().await?;
    let verdict = seals::verify(&mut client, published).await?;
    match format {
        Format::Json => print_json(&json!(verdict))?,
        Format::Table => match &verdict.breach {
            None => {
                println!(
                    "The action protocol is intact: {} row(s) in {} seal(s) checked.",
                    verdict.rows, verdict.seals
                );
                if let Some(p) = published {
                    println!("It carries the published seal of row {}.", p.row_id);
                }
                match &verdict.newest {
                    Some(seal) => println!("Newest seal: {seal}"),
                    None => println!("The protocol is empty: nothing is sealed yet."),
                }
            }
            Some(_) => {
                println!(
                    "The action protocol is NOT intact: {} row(s) in {} seal(s) checked before \
                     the first problem.",
                    verdict.rows, verdict.seals
                );
                if let Some(seal) = &verdict.newest {
                    println!("Last good seal: {seal}");
                }
            }
        },
    }
    match verdict.breach {
        None => Ok(()),
        Some(breach) => Err(Error::Tampered(breach.to_string())),
    }
}
