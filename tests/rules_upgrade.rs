//! The rules (sql/rules) on a database migrated by the release before them:
//! `migrate` applies them once, keeps what logins were granted, and
//! re-applies them whenever their text differs from what the database
//! recorded; other commands refuse rules that are not theirs.

mod common;

use common::{expect_code, fx, stderr, stdout, TestDb};
use retentiond::db::migrate::{self, MIGRATIONS, RULES};

/// The schema version of the release that had no rule files.
const RELEASE: i32 = 12;

/// What the release's `migrate` left: migrations 1 to 12, recorded, and no
/// rule files.
async fn migrated_by_release(db: &TestDb) -> tokio_postgres::Client {
    let c = db.client().await;
    c.batch_execute(
        "CREATE SCHEMA retention;
         CREATE TABLE retention.schema_migrations (
             version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,
             applied_at timestamptz NOT NULL DEFAULT now());",
    )
    .await
    .unwrap();
    for m in MIGRATIONS.iter().filter(|m| m.version <= RELEASE) {
        c.batch_execute(m.sql).await.unwrap();
        c.execute(
            "INSERT INTO retention.schema_migrations (version, name, checksum)
             VALUES ($1, $2, $3)",
            &[&m.version, &m.name, &migrate::checksum(m.sql)],
        )
        .await
        .unwrap();
    }
    c
}

async fn recorded_rules(c: &tokio_postgres::Client) -> Vec<String> {
    c.query("SELECT name FROM retention.schema_rules ORDER BY name", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

#[tokio::test]
async fn a_database_of_the_release_gets_the_rules_and_keeps_its_grants() {
    let db = TestDb::empty().await;
    let c = migrated_by_release(&db).await;
    let b = fx::branch(&c, "Zentrale", None).await;
    let g = fx::guest(&c, b, common::day("2020-01-10")).await;
    fx::policy(&c, b, "guest_without_sale", "1 year").await;
    // a login granted by the release, before the rules existed
    let admin = common::connect(&common::server_url()).await;
    let role = format!("{}_reader", db.name);
    admin
        .batch_execute(&format!("CREATE ROLE \"{role}\" LOGIN"))
        .await
        .unwrap();
    c.execute("SELECT retention.grant_runtime($1)", &[&role])
        .await
        .unwrap();
    let login = db.url.replace("user=postgres", &format!("user={role}"));

    // the release's schema is one this binary refuses until migrated
    let refused = db.cli(&["pending"]);
    assert_eq!(refused.status.code(), Some(1), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("retentiond migrate"),
        "{}",
        stderr(&refused)
    );

    let out = expect_code(&db.cli(&["migrate"]), 0);
    // the migrations after the release's are applied
    let migrated = format!("from version {RELEASE} to {}", migrate::latest_version());
    assert!(out.contains(&migrated), "{out}");
    for rule in RULES {
        assert!(out.contains(rule.name), "{out}");
    }
    let mut names: Vec<String> = RULES.iter().map(|r| r.name.to_string()).collect();
    names.sort();
    assert_eq!(recorded_rules(&c).await, names);

    // the granted login still reads the classification views (kept by
    // CREATE OR REPLACE) and the rules decide as before
    let classify = db.cli_as(
        &login,
        &["classify", "--guest", &g.to_string(), "--format", "json"],
    );
    let doc: serde_json::Value = serde_json::from_str(&stdout(&classify))
        .unwrap_or_else(|_| panic!("{}", stderr(&classify)));
    assert_eq!(doc["guest_type"], "guest_without_sale");
    assert_eq!(doc["personal_deadline"], "2021-01-10T12:00:00Z");
    let run = db.cli_as(&login, &["run", "--yes", "--actor", "alice"]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    common::assert_anonymized(&c, g).await;
    // the objects went to the owner role; the login kept reading and the
    // API, and lost the write privileges the release gave it
    assert_eq!(
        fx::count(
            &c,
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'retention' AND c.relowner <> 'retentiond_owner'::regrole",
        )
        .await,
        0
    );
    let writes = c
        .query_one(
            "SELECT has_table_privilege($1, 'retention.action_protocol', 'INSERT')
                 OR has_table_privilege($1, 'retention.runs', 'UPDATE')
                 OR has_column_privilege($1, 'public.guests', 'anonymized_at', 'UPDATE')",
            &[&role],
        )
        .await
        .unwrap();
    assert!(!writes.get::<_, bool>(0));

    let again = expect_code(&db.cli(&["migrate"]), 0);
    assert!(!again.contains("rules applied"), "{again}");
}

#[tokio::test]
async fn changed_rules_are_refused_until_migrate_applies_them_again() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    // the database recorded another text of one file, as after an upgrade
    // of the binary that changed it
    c.execute(
        "UPDATE retention.schema_rules SET checksum = 'older' WHERE name = 'guest_rules'",
        &[],
    )
    .await
    .unwrap();
    c.batch_execute(
        "CREATE OR REPLACE FUNCTION retention.blocked_reason(unpaid_invoices bigint, held boolean)
         RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT 'older rule'::text $$",
    )
    .await
    .unwrap();

    let refused = db.cli(&["pending"]);
    assert_eq!(refused.status.code(), Some(1), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("rules") && stderr(&refused).contains("retentiond migrate"),
        "{}",
        stderr(&refused)
    );

    let out = expect_code(&db.cli(&["migrate"]), 0);
    assert!(out.contains("rules applied"), "{out}");
    let reason: Option<String> = c
        .query_one("SELECT retention.blocked_reason(0, false)", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(reason, None, "the current rule is back");
    expect_code(&db.cli(&["pending"]), 0);
}

#[tokio::test]
async fn one_run_per_night_is_enforced_by_the_rule_that_claims_it() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let b = fx::branch(&c, "Zentrale", None).await;
    let insert = |status: &'static str| {
        format!(
            "INSERT INTO retention.runs (kind, actor, branches, night_branch_id, night, cutoff,
                 started_at, status)
             VALUES ('scheduled', 'retentiond', ARRAY[{b}]::bigint[], {b}, '2026-01-01', now(),
                 now(), '{status}')"
        )
    };
    // failed and interrupted attempts do not claim the night
    c.batch_execute(&insert("failed")).await.unwrap();
    c.batch_execute(&insert("interrupted")).await.unwrap();
    c.batch_execute(&insert("completed")).await.unwrap();
    let second = c.batch_execute(&insert("partial")).await;
    assert!(second.is_err(), "a second claiming run of the night");
    let claims: Vec<bool> = c
        .query(
            "SELECT retention.run_claims_night(s) FROM unnest(ARRAY['running', 'completed',
                 'partial', 'held', 'failed', 'interrupted']) s",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(claims, [true, true, true, true, false, false]);
}

#[tokio::test]
async fn rules_of_a_newer_retentiond_are_refused_and_left_as_they_are() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    // a newer release applied its rules (another text, a higher version)
    c.batch_execute(&format!(
        "UPDATE retention.schema_rules SET version = {}, checksum = 'newer'
         WHERE name = 'guest_rules';
         CREATE OR REPLACE FUNCTION retention.blocked_reason(unpaid_invoices bigint, held boolean)
         RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT 'newer rule'::text $$;",
        migrate::RULES_VERSION + 1
    ))
    .await
    .unwrap();
    let out = db.cli(&["migrate"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("newer than this retentiond"),
        "{}",
        stderr(&out)
    );
    let reason: Option<String> = c
        .query_one("SELECT retention.blocked_reason(0, false)", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(reason.as_deref(), Some("newer rule"), "left as it was");
}
