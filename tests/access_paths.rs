//! The rules have one definition and three access paths: by index
//! (`retention.guest_classification`, for `classify` and a batch of guests
//! far apart), by key range (`retention.guest_classification_between`, for
//! a batch of guests close together) and by hash aggregates
//! (`retention.guest_classification_scan`, for run candidates and the
//! pending report). They must agree on every guest.

mod common;

use common::{expect_code, fx, TestDb};

/// Random demo data with periods own and inherited, one type left without a
/// period, branches in several time zones, and a run that anonymized part
/// of it, so that every kind of value occurs.
async fn random_world() -> (TestDb, tokio_postgres::Client) {
    let db = TestDb::migrated().await;
    expect_code(
        &db.cli(&[
            "demo-data",
            "--guests",
            "4000",
            "--branches",
            "4",
            "--seed",
            "7",
            "--anchor",
            "2026-11-25",
        ]),
        0,
    );
    let c = db.client().await;
    for (branch, guest_type, period) in [
        (1, "newsletter_subscriber", "2 years"),
        (1, "guest", "3 years"),
        (1, "regular_guest", "5 years"),
        (1, "company_guest", "10 years"),
        (3, "guest", "18 months"),
        (4, "guest_without_sale", "400 days"),
    ] {
        fx::policy(&c, branch, guest_type, period).await;
    }
    expect_code(&db.cli(&["run", "--yes", "--actor", "test"]), 0);
    (db, c)
}

#[tokio::test]
async fn index_and_scan_paths_agree_on_every_guest_field_by_field() {
    let (_db, c) = random_world().await;
    let differing = c
        .query(
            "SELECT guest_id, to_jsonb(a) AS by_index, to_jsonb(b) AS by_scan
             FROM retention.guest_classification a
             FULL JOIN retention.guest_classification_scan b USING (guest_id)
             WHERE a IS DISTINCT FROM b OR a.guest_id IS NULL OR b.guest_id IS NULL
             ORDER BY guest_id LIMIT 5",
            &[],
        )
        .await
        .unwrap();
    let shown: Vec<String> = differing
        .iter()
        .map(|r| {
            format!(
                "guest {}: index {} / scan {}",
                r.get::<_, i64>(0),
                r.get::<_, serde_json::Value>(1),
                r.get::<_, serde_json::Value>(2)
            )
        })
        .collect();
    assert!(shown.is_empty(), "the paths differ:\n{}", shown.join("\n"));

    // the data set has every kind of value, so agreement means something
    let variety = c
        .query_one(
            "SELECT count(*),
                    count(DISTINCT guest_type),
                    count(*) FILTER (WHERE personal_deadline IS NULL),
                    count(*) FILTER (WHERE fiscal_deadline IS NOT NULL),
                    count(*) FILTER (WHERE blocked_reason IS NOT NULL),
                    count(*) FILTER (WHERE anonymized_at IS NOT NULL),
                    count(*) FILTER (WHERE latest_reservation_for > '2026-11-25'),
                    count(*) FILTER (WHERE personal_period_inherited),
                    count(*) FILTER (WHERE NOT personal_period_inherited),
                    count(*) FILTER (WHERE newsletter_active),
                    count(DISTINCT time_zone)
             FROM retention.guest_classification_scan",
            &[],
        )
        .await
        .unwrap();
    let n = |i: usize| variety.get::<_, i64>(i);
    assert_eq!(n(0), 4000, "every guest is classified");
    assert_eq!(n(1), 5, "all five types occur");
    for (i, what) in [
        (2, "guests without a period"),
        (3, "fiscal deadlines"),
        (4, "blocked guests"),
        (5, "anonymized guests"),
        (6, "reservations to come"),
        (7, "inherited periods"),
        (8, "own periods"),
        (9, "active newsletters"),
    ] {
        assert!(n(i) > 0, "the data set has no {what}");
    }
    assert!(n(10) > 1, "branches in more than one time zone");
}

/// A week later, by the periods: some deadlines of the next days fall due.
async fn a_week_later(c: &tokio_postgres::Client) {
    c.execute(
        "UPDATE retention.policies SET period = period - interval '7 days'",
        &[],
    )
    .await
    .unwrap();
}

/// Guests whose classification differs between the index path and `other`
/// (a relation with the same columns), at most five, shown.
async fn differing(c: &tokio_postgres::Client, other: &str, ids: &str) -> Vec<String> {
    let sql = format!(
        "SELECT guest_id, to_jsonb(a)::text, to_jsonb(b)::text
         FROM (SELECT * FROM retention.guest_classification WHERE {ids}) a
         FULL JOIN {other} b USING (guest_id)
         WHERE a IS DISTINCT FROM b OR a.guest_id IS NULL OR b.guest_id IS NULL
         ORDER BY guest_id LIMIT 5"
    );
    let rows = c.query(sql.as_str(), &[]).await.unwrap();
    rows.iter()
        .map(|r| {
            format!(
                "guest {:?}: index {:?} / other {:?}",
                r.get::<_, Option<i64>>(0),
                r.get::<_, Option<String>>(1),
                r.get::<_, Option<String>>(2)
            )
        })
        .collect()
}

#[tokio::test]
async fn range_path_agrees_with_the_index_path_on_every_guest_of_its_range_alone() {
    let (db, c) = random_world().await;
    // held guests: one by itself, all of a branch
    for target in [["--guest", "1500"], ["--branch", "2"]] {
        let mut args = vec!["hold", "add", "--reason", "tax audit"];
        args.extend_from_slice(&target);
        expect_code(&db.cli(&args), 0);
    }
    let all = differing(
        &c,
        "retention.guest_classification_between(0, (SELECT max(id) FROM guests))",
        "true",
    )
    .await;
    assert!(all.is_empty(), "the paths differ:\n{}", all.join("\n"));
    // a range in the middle: its guests and no other
    let part = differing(
        &c,
        "retention.guest_classification_between(1001, 2000)",
        "guest_id BETWEEN 1001 AND 2000",
    )
    .await;
    assert!(part.is_empty(), "the paths differ:\n{}", part.join("\n"));
    let bounds = c
        .query_one(
            "SELECT count(*), min(guest_id), max(guest_id)
             FROM retention.guest_classification_between(1001, 2000)",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        (
            bounds.get::<_, i64>(0),
            bounds.get::<_, i64>(1),
            bounds.get::<_, i64>(2)
        ),
        (1000, 1001, 2000)
    );
}

#[tokio::test]
async fn a_night_of_guests_far_apart_anonymizes_exactly_the_due_ones() {
    // after the backlog (random_world's run: batches of guests close
    // together, the range path), a week of deadlines falls due: a few
    // guests spread over all ids, batches far apart (the index path)
    let (db, c) = random_world().await;
    let due_at = |at: &'static str| {
        let c = &c;
        async move {
            let rows = c
                .query(
                    &format!(
                        "SELECT guest_id FROM retention.guest_classification c
                         WHERE c.blocked_reason IS NULL
                           AND retention.anonymize_due(c.anonymized_at, c.personal_deadline, {at})
                         ORDER BY guest_id"
                    ),
                    &[],
                )
                .await
                .unwrap();
            rows.iter().map(|r| r.get::<_, i64>(0)).collect::<Vec<_>>()
        }
    };
    assert_eq!(
        due_at("now()").await,
        Vec::<i64>::new(),
        "the backlog left nothing due"
    );
    a_week_later(&c).await;
    let due = due_at("now()").await;
    // no deadline falls between now and the run's cut-off
    assert_eq!(due, due_at("now() + interval '10 minutes'").await);
    let max_id = fx::count(&c, "SELECT max(id) FROM guests").await;
    assert!(
        !due.is_empty() && max_id > 8 * due.len() as i64,
        "a few guests far apart are due ({} of {max_id})",
        due.len()
    );
    let out = expect_code(&db.cli(&["run", "--yes", "--format", "json"]), 0);
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let run_id = report["run_id"].as_i64().unwrap();
    let rows = c
        .query(
            "SELECT guest_id FROM retention.action_protocol
             WHERE run_id = $1 AND action = 'guest_anonymized' ORDER BY guest_id",
            &[&run_id],
        )
        .await
        .unwrap();
    let anonymized: Vec<i64> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(anonymized, due);
    let left = fx::count(
        &c,
        &format!(
            "SELECT count(*) FROM guests g
             WHERE g.id IN ({}) AND (g.anonymized_at IS NULL OR g.email IS NOT NULL)",
            due.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
        ),
    )
    .await;
    assert_eq!(left, 0, "every due guest's personal data is gone");
}

#[tokio::test]
async fn run_candidates_are_exactly_what_the_batch_recheck_finds_due() {
    let (db, c) = random_world().await;
    a_week_later(&c).await;
    let dry = db.cli(&["run", "--dry-run", "--format", "json"]);
    let plan: serde_json::Value = serde_json::from_str(&expect_code(&dry, 0)).unwrap();
    let listed: i64 = plan["branches"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|b| b["by_type"].as_array().unwrap().iter())
        .map(|t| t["anonymize"].as_i64().unwrap())
        .sum();
    let by_index = fx::count(
        &c,
        "SELECT count(*) FROM retention.guest_classification c
         WHERE c.blocked_reason IS NULL
           AND retention.anonymize_due(c.anonymized_at, c.personal_deadline, now())",
    )
    .await;
    assert!(listed > 0, "something is due a week later");
    assert_eq!(listed, by_index);
}

#[tokio::test]
async fn a_reader_scans_the_classification_where_parallel_plans_are_cheap() {
    // the time-zone check is a subtransaction, which a parallel plan refuses
    // even in its leader: the scan must never be planned in parallel
    let (_db, c) = random_world().await;
    c.batch_execute(
        "SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0;
         SET min_parallel_table_scan_size = 0; SET min_parallel_index_scan_size = 0;
         SET max_parallel_workers_per_gather = 2",
    )
    .await
    .unwrap();
    let scanned = fx::count(
        &c,
        "SELECT count(*) FROM retention.guest_classification_scan",
    )
    .await;
    assert_eq!(scanned, 4000);
}
