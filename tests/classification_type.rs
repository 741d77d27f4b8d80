//! The Rules "Type" and "Last activity": the type by the precedence table,
//! first match wins, and last activity as the latest of every source.

mod common;

use common::classify::{world, D};
use common::{day, fx};
use retentiond::retention::GuestType;

// --- Type, first match wins -------------------------------------------------

/// (case, has a sale, company, verified, newsletter: None or Some(active), expected)
type TypeCase = (
    &'static str,
    bool,
    Option<&'static str>,
    bool,
    Option<bool>,
    GuestType,
);

#[tokio::test]
async fn guest_type_follows_the_precedence_table() {
    let w = world().await;
    let t0 = day("2020-03-01");
    let cases: &[TypeCase] = &[
        (
            "sale and company",
            true,
            Some("ACME GmbH"),
            false,
            None,
            GuestType::CompanyGuest,
        ),
        (
            "verified company guest stays company",
            true,
            Some("ACME GmbH"),
            true,
            Some(true),
            GuestType::CompanyGuest,
        ),
        (
            "verified without sale",
            false,
            None,
            true,
            Some(true),
            GuestType::RegularGuest,
        ),
        (
            "verified with sale, no company",
            true,
            None,
            true,
            None,
            GuestType::RegularGuest,
        ),
        (
            "company without sale is no company guest",
            false,
            Some("ACME GmbH"),
            false,
            None,
            GuestType::GuestWithoutSale,
        ),
        (
            "sale, blank company",
            true,
            Some("   "),
            false,
            None,
            GuestType::Guest,
        ),
        (
            "sale, empty company",
            true,
            Some(""),
            false,
            None,
            GuestType::Guest,
        ),
        (
            "sale and newsletter",
            true,
            None,
            false,
            Some(true),
            GuestType::Guest,
        ),
        (
            "active newsletter only",
            false,
            None,
            false,
            Some(true),
            GuestType::NewsletterSubscriber,
        ),
        (
            "ended newsletter only",
            false,
            None,
            false,
            Some(false),
            GuestType::GuestWithoutSale,
        ),
        (
            "nothing at all",
            false,
            None,
            false,
            None,
            GuestType::GuestWithoutSale,
        ),
    ];
    for (name, sale, company, verified, newsletter, expected) in cases {
        let g = fx::guest(&w.c, w.head, t0).await;
        if *sale {
            fx::sale(&w.c, g, t0 + D(1)).await;
        }
        if let Some(company) = company {
            fx::set_company(&w.c, g, company).await;
        }
        if *verified {
            fx::set_verified(&w.c, g).await;
        }
        if let Some(active) = newsletter {
            fx::newsletter(&w.c, g, t0, (!active).then_some(t0 + D(2))).await;
        }
        let got = w.classify(g, t0).await.guest_type;
        assert_eq!(got, *expected, "{name}");
    }
}

// --- Last activity ----------------------------------------------------------

#[tokio::test]
async fn last_activity_is_the_latest_of_every_source() {
    let w = world().await;
    let t0 = day("2020-03-01");
    let later = t0 + D(100);
    let cases = [
        "created",
        "profile edit",
        "sale",
        "reservation booked",
        "newsletter sign-up",
    ];
    for source in cases {
        let g = fx::guest(&w.c, w.head, t0).await;
        // every source but the one under test happens before `later`
        fx::sale(&w.c, g, t0 + D(1)).await;
        match source {
            "created" => {
                w.c.execute(
                    "UPDATE guests SET created_at = $2 WHERE id = $1",
                    &[&g, &later],
                )
                .await
                .unwrap();
            }
            "profile edit" => fx::set_profile_updated(&w.c, g, later).await,
            "sale" => {
                fx::sale(&w.c, g, later).await;
            }
            "reservation booked" => {
                fx::reservation(&w.c, g, later, later + D(3), true).await;
            }
            "newsletter sign-up" => fx::newsletter(&w.c, g, later, None).await,
            _ => unreachable!(),
        }
        assert_eq!(w.classify(g, later).await.last_activity, later, "{source}");
    }
}

#[tokio::test]
async fn missing_sources_are_ignored() {
    let w = world().await;
    let t0 = day("2020-03-01");
    let g = fx::guest(&w.c, w.head, t0).await;
    assert_eq!(w.classify(g, t0).await.last_activity, t0);
}
