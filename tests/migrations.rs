//! Migrations: the contract schema, idempotence, concurrency, the
//! append-only protocol and refusal of a newer schema.

mod common;

use common::{expect_code, stderr, TestDb};
use retentiond::db::migrate;

#[tokio::test]
async fn migrate_twice_applies_everything_once() {
    let db = TestDb::empty().await;
    let first = expect_code(&db.cli(&["migrate"]), 0);
    assert!(
        first.contains(&format!("to {}", migrate::latest_version())),
        "{first}"
    );
    let second = expect_code(&db.cli(&["migrate"]), 0);
    assert!(second.contains("up to date"), "{second}");
    let c = db.client().await;
    let rows: i64 = c
        .query_one("SELECT count(*) FROM retention.schema_migrations", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(rows, migrate::MIGRATIONS.len() as i64);
}

#[tokio::test]
async fn concurrent_migrations_both_succeed_and_apply_once() {
    let db = TestDb::empty().await;
    let mut a = db.client().await;
    let mut b = db.client().await;
    let (ra, rb) = tokio::join!(
        migrate::run(&mut a, "retentiond_owner"),
        migrate::run(&mut b, "retentiond_owner")
    );
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    let applied = ra.applied.len() + rb.applied.len();
    assert_eq!(
        applied,
        migrate::MIGRATIONS.len(),
        "each migration applied exactly once"
    );
    let rows: i64 = a
        .query_one("SELECT count(*) FROM retention.schema_migrations", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(rows, migrate::MIGRATIONS.len() as i64);
}

/// (name, information_schema data type, nullable)
type Column = (&'static str, &'static str, bool);

#[tokio::test]
async fn contract_tables_have_the_named_columns_and_types() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let expected: &[(&str, &str, &[Column])] = &[
        (
            "public",
            "branches",
            &[
                ("id", "bigint", false),
                ("name", "text", false),
                ("parent_id", "bigint", true),
                ("time_zone", "text", false),
            ],
        ),
        (
            "public",
            "guests",
            &[
                ("id", "bigint", false),
                ("branch_id", "bigint", false),
                ("first_name", "text", true),
                ("last_name", "text", true),
                ("email", "text", true),
                ("phone", "text", true),
                ("street", "text", true),
                ("zip", "text", true),
                ("city", "text", true),
                ("birthday", "date", true),
                ("notes", "text", true),
                ("company", "text", true),
                ("vat_id", "text", true),
                ("economic_id", "text", true),
                ("verified", "boolean", false),
                ("created_at", "timestamp with time zone", false),
                ("profile_updated_at", "timestamp with time zone", true),
                ("anonymized_at", "timestamp with time zone", true),
                ("fiscal_erased_at", "timestamp with time zone", true),
            ],
        ),
        (
            "public",
            "sales",
            &[
                ("id", "bigint", false),
                ("guest_id", "bigint", true),
                ("branch_id", "bigint", false),
                ("sold_at", "timestamp with time zone", false),
                ("total_cents", "bigint", false),
            ],
        ),
        (
            "public",
            "reservations",
            &[
                ("id", "bigint", false),
                ("guest_id", "bigint", false),
                ("branch_id", "bigint", false),
                ("reserved_for", "timestamp with time zone", false),
                ("created_at", "timestamp with time zone", false),
                ("party_size", "integer", false),
                ("notes", "text", true),
                ("cancelled_at", "timestamp with time zone", true),
            ],
        ),
        (
            "public",
            "newsletter_subscriptions",
            &[
                ("guest_id", "bigint", false),
                ("email", "text", true),
                ("subscribed_at", "timestamp with time zone", false),
                ("unsubscribed_at", "timestamp with time zone", true),
            ],
        ),
        (
            "public",
            "invoices",
            &[
                ("id", "bigint", false),
                ("guest_id", "bigint", false),
                ("sale_id", "bigint", true),
                ("number", "text", false),
                ("issued_at", "timestamp with time zone", false),
                ("pdf", "bytea", true),
                ("paid_at", "timestamp with time zone", true),
            ],
        ),
        (
            "public",
            "customer_cards",
            &[
                ("id", "bigint", false),
                ("guest_id", "bigint", false),
                ("card_number", "text", false),
                ("valid", "boolean", false),
            ],
        ),
        (
            "retention",
            "action_protocol",
            &[
                ("id", "bigint", false),
                ("at", "timestamp with time zone", false),
                ("actor", "text", false),
                ("action", "text", false),
                ("branch_id", "bigint", true),
                ("guest_id", "bigint", true),
                ("guest_type", "text", true),
                ("run_id", "bigint", true),
                ("details", "jsonb", false),
            ],
        ),
    ];
    for (schema, table, columns) in expected {
        let rows = c
            .query(
                "SELECT column_name::text, data_type::text, is_nullable = 'YES'
                 FROM information_schema.columns
                 WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position",
                &[schema, table],
            )
            .await
            .unwrap();
        let actual: Vec<(String, String, bool)> = rows
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect();
        let expected: Vec<(String, String, bool)> = columns
            .iter()
            .map(|(n, t, null)| (n.to_string(), t.to_string(), *null))
            .collect();
        assert_eq!(actual, expected, "{schema}.{table}");
    }
    let details_default: String = c
        .query_one(
            "SELECT column_default FROM information_schema.columns
             WHERE table_schema = 'retention' AND table_name = 'action_protocol' AND column_name = 'details'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(details_default, "'{}'::jsonb");
}

#[tokio::test]
async fn classification_indexes_exist() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    for index in [
        "sales_guest_id_sold_at_idx",
        "reservations_guest_id_reserved_for_idx",
        "invoices_guest_id_idx",
        "guests_branch_id_not_anonymized_idx",
    ] {
        let found: bool = c
            .query_one("SELECT to_regclass('public.' || $1) IS NOT NULL", &[&index])
            .await
            .unwrap()
            .get(0);
        assert!(found, "index {index} missing");
    }
}

async fn protocol_with_one_row(db: &TestDb) -> tokio_postgres::Client {
    let c = db.client().await;
    c.execute(
        "INSERT INTO retention.action_protocol (actor, action) VALUES ('test', 'run_started')",
        &[],
    )
    .await
    .unwrap();
    c
}

async fn assert_rejected(c: &tokio_postgres::Client, sql: &str) {
    let err = c.batch_execute(sql).await.expect_err(sql);
    let msg = err
        .as_db_error()
        .map(|e| e.message().to_string())
        .unwrap_or_default();
    assert!(msg.contains("append-only"), "{sql}: {msg}");
    let rows: i64 = c
        .query_one("SELECT count(*) FROM retention.action_protocol", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(rows, 1, "{sql} must leave the row");
}

#[tokio::test]
async fn protocol_rejects_update() {
    let db = TestDb::migrated().await;
    let c = protocol_with_one_row(&db).await;
    assert_rejected(
        &c,
        "UPDATE retention.action_protocol SET actor = 'someone else'",
    )
    .await;
}

#[tokio::test]
async fn protocol_rejects_delete_even_of_no_rows() {
    let db = TestDb::migrated().await;
    let c = protocol_with_one_row(&db).await;
    assert_rejected(&c, "DELETE FROM retention.action_protocol").await;
    assert_rejected(&c, "DELETE FROM retention.action_protocol WHERE false").await;
}

#[tokio::test]
async fn protocol_rejects_truncate() {
    let db = TestDb::migrated().await;
    let c = protocol_with_one_row(&db).await;
    assert_rejected(&c, "TRUNCATE retention.action_protocol").await;
}

#[tokio::test]
async fn protocol_rejects_changes_in_replica_mode_too() {
    let db = TestDb::migrated().await;
    let c = protocol_with_one_row(&db).await;
    assert_rejected(
        &c,
        "SET session_replication_role = replica; DELETE FROM retention.action_protocol",
    )
    .await;
}

#[tokio::test]
async fn newer_schema_is_refused_and_left_unchanged() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    c.execute(
        "INSERT INTO retention.schema_migrations (version, name, checksum) VALUES (999, 'future', 'x')",
        &[],
    )
    .await
    .unwrap();
    let before: i64 = c
        .query_one("SELECT count(*) FROM retention.schema_migrations", &[])
        .await
        .unwrap()
        .get(0);
    let out = db.cli(&["migrate"]);
    expect_code(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains("version 999") && err.contains("newer"),
        "{err}"
    );
    assert!(err.contains("not changed"), "{err}");
    let after: i64 = c
        .query_one("SELECT count(*) FROM retention.schema_migrations", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(before, after);
    // other commands refuse to work on it as well
    let out = db.cli(&["policy", "show"]);
    expect_code(&out, 1);
    assert!(stderr(&out).contains("newer"), "{}", stderr(&out));
}

#[tokio::test]
async fn commands_on_an_unmigrated_database_say_to_migrate() {
    let db = TestDb::empty().await;
    let out = db.cli(&["policy", "show"]);
    expect_code(&out, 1);
    assert!(
        stderr(&out).contains("retentiond migrate"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test]
async fn migrate_keeps_an_existing_pos_schema() {
    let db = TestDb::empty().await;
    let c = db.client().await;
    c.batch_execute(
        "CREATE TABLE branches (id bigint PRIMARY KEY, name text NOT NULL, parent_id bigint NULL
             REFERENCES branches, time_zone text NOT NULL DEFAULT 'Europe/Berlin');
         INSERT INTO branches (id, name) VALUES (7, 'Bestand');",
    )
    .await
    .unwrap();
    expect_code(&db.cli(&["migrate"]), 0);
    let name: String = c
        .query_one("SELECT name FROM branches WHERE id = 7", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(name, "Bestand");
}
