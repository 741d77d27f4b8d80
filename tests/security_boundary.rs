//! The database is the boundary: a granted login holds no INSERT, UPDATE,
//! DELETE or TRUNCATE on any table, ours or the POS's, and changes data only
//! through retentiond's functions (`retention_api`), which check what they
//! are asked. Each attack is tried as the login it needs, in plain SQL.

mod common;

use common::security::{guest, refused};
use common::{connect, expect_code, fx, TestDb};
use tokio_postgres::Client;

async fn assert_denied(c: &Client, sql: &str) {
    assert_eq!(refused(c, sql).await, "42501", "{sql} must be denied");
}

async fn protocol_rows(c: &Client) -> i64 {
    fx::count(c, "SELECT count(*) FROM retention.action_protocol").await
}

/// An open erasure request of `guest`, made by the login of `url`.
fn request(db: &TestDb, url: &str, guest: i64) -> i64 {
    let out = expect_code(
        &db.cli_as(
            url,
            &[
                "erasure",
                "request",
                "--guest",
                &guest.to_string(),
                "--reason",
                "mail of the guest",
                "--format",
                "json",
            ],
        ),
        0,
    );
    let doc: serde_json::Value = serde_json::from_str(&out).expect(&out);
    doc["request_id"].as_i64().expect(&out)
}

#[tokio::test]
async fn one_login_cannot_make_four_eyes_out_of_two() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let (b, g) = guest(&c).await;
    let other = fx::guest(&c, b, common::day("2025-01-01")).await;
    let (alice, bob) = (db.login("alice").await, db.login("bob").await);
    let id = request(&db, &bob, g);
    let a = connect(&alice).await;
    let before = protocol_rows(&c).await;
    // the guest of bob's request swapped, then approved by alice alone
    assert_denied(
        &a,
        &format!("UPDATE retention.erasure_requests SET guest_id = {other} WHERE id = {id}"),
    )
    .await;
    // alice's own request withdrawn and then set to approved
    let own = request(&db, &alice, other);
    expect_code(
        &db.cli_as(
            &alice,
            &["erasure", "withdraw", "--request", &own.to_string()],
        ),
        0,
    );
    assert_denied(
        &a,
        &format!("UPDATE retention.erasure_requests SET status = 'approved' WHERE id = {own}"),
    )
    .await;
    let code = refused(
        &a,
        &format!("SELECT retention_api.erasure_approve({own}, 'alice')"),
    )
    .await;
    assert_eq!(code, "RT003", "a withdrawn request is decided already");
    // alice may not decide her own request through the API either
    let mine = request(&db, &alice, other);
    let code = refused(
        &a,
        &format!("SELECT retention_api.erasure_approve({mine}, 'bob')"),
    )
    .await;
    assert_eq!(code, "42501", "four eyes by login, whatever the label");
    // nothing of it happened
    common::assert_untouched(&c, other).await;
    assert_eq!(
        fx::count(
            &c,
            &format!("SELECT count(*) FROM retention.erasure_requests WHERE id = {id} AND guest_id = {g} AND status = 'open'"),
        )
        .await,
        1
    );
    assert_eq!(
        protocol_rows(&c).await,
        before + 3,
        "two more requests and a withdrawal (the guests had no newsletter)"
    );
}

#[tokio::test]
async fn even_the_owner_cannot_rewrite_a_request_or_undo_a_decision() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let (b, g) = guest(&c).await;
    let other = fx::guest(&c, b, common::day("2025-01-01")).await;
    let (alice, bob) = (db.login("alice").await, db.login("bob").await);
    let id = request(&db, &bob, g);
    expect_code(
        &db.cli_as(
            &alice,
            &[
                "erasure",
                "reject",
                "--request",
                &id.to_string(),
                "--reason",
                "unpaid bill",
            ],
        ),
        0,
    );
    let open = request(&db, &bob, other);
    // the owner (a superuser acting as the owner role): the triggers hold
    c.batch_execute("SET ROLE retentiond_owner").await.unwrap();
    for (sql, what) in [
        (
            format!("UPDATE retention.erasure_requests SET status = 'open' WHERE id = {id}"),
            "a decided request reopened",
        ),
        (
            format!("UPDATE retention.erasure_requests SET guest_id = {g} WHERE id = {open}"),
            "the guest swapped",
        ),
        (
            format!("UPDATE retention.erasure_requests SET reason = 'other' WHERE id = {open}"),
            "the reason changed",
        ),
        (
            format!("DELETE FROM retention.erasure_requests WHERE id = {id}"),
            "a request removed",
        ),
    ] {
        assert_eq!(refused(&c, &sql).await, "42501", "{what}");
    }
    c.batch_execute("RESET ROLE").await.unwrap();
    assert_eq!(
        fx::count(
            &c,
            &format!("SELECT count(*) FROM retention.erasure_requests WHERE (id = {id} AND status = 'rejected') OR (id = {open} AND guest_id = {other} AND reason = 'mail of the guest')"),
        )
        .await,
        2
    );
}

#[tokio::test]
async fn a_login_cannot_evade_forge_relay_or_lock() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let (b, g) = guest(&c).await;
    expect_code(
        &db.cli(&[
            "settings",
            "set",
            "--branch",
            &b.to_string(),
            "--notify",
            "manager@example.org",
        ]),
        0,
    );
    let login = connect(&db.login("mallory").await).await;
    let before = protocol_rows(&c).await;
    for sql in [
        // evasion: a guest marked anonymized without anything cleared
        format!("UPDATE public.guests SET anonymized_at = now() WHERE id = {g}"),
        format!("UPDATE public.guests SET first_name = NULL WHERE id = {g}"),
        // forged history, also ahead of the sequence
        "INSERT INTO retention.action_protocol (actor, action, details) VALUES ('bob', 'erasure_approved', '{}')".into(),
        "INSERT INTO retention.action_protocol (id, actor, action) OVERRIDING SYSTEM VALUE VALUES (999999, 'x', 'y')".into(),
        // a mail relay
        format!("INSERT INTO retention.mail_outbox (kind, branch_id, locale, recipients, message_id, subject, body_text, body_html, created_at, next_attempt_at) VALUES ('pending_summary', {b}, 'de', ARRAY['victim@example.com'], 'x@y', 's', 't', 'h', now(), now())"),
        // tables of ours
        "UPDATE retention.policies SET period = '1 day'".into(),
        "DELETE FROM retention.runs".into(),
        "TRUNCATE retention.run_candidates".into(),
        "UPDATE retention.periods_cache SET periods = '{}'".into(),
        // holding the POS's rows
        format!("SELECT 1 FROM public.guests WHERE id = {g} FOR UPDATE"),
        // our internal functions
        format!("SELECT * FROM retention.apply_guests(ARRAY[{g}]::bigint[], now(), 'x', NULL, ARRAY[{g}]::bigint[], '{{}}', NULL::bigint[])"),
        "SELECT retention.protocol_row('x', 'erasure_approved', NULL, NULL, NULL, NULL, '{}')".into(),
        format!("SELECT retention.lock_guests(ARRAY[{g}]::bigint[])"),
        "SELECT retention.grant_runtime('mallory')".into(),
    ] {
        assert_denied(&login, &sql).await;
    }
    // the API refuses what its callers may not ask for
    for (sql, code) in [
        ("SELECT retention_api.protocol_write('bob', 'erasure_approved', NULL, NULL, NULL, NULL, '{}')".to_string(), "RT001"),
        ("SELECT retention_api.protocol_write('bob', 'guest_anonymized', NULL, 1, NULL, NULL, '{}')".to_string(), "RT001"),
        (format!("SELECT retention_api.outbox_enqueue('pending_summary', 'k', {b}, NULL, 'de', ARRAY['victim@example.com'], 'm@x', 's', 't', '<p>h</p>', now())"), "RT001"),
        (format!("SELECT retention_api.outbox_enqueue('test', 'k', {b}, NULL, 'de', ARRAY['manager@example.org'], 'm@x', 's', 't', 'h', now())"), "RT001"),
        // a batch outside a run of this session, a cut-off in the future
        (format!("SELECT * FROM retention_api.run_batch(ARRAY[1]::bigint[], {g} - 1, {g}, now(), 'x', 1)"), "RT002"),
        (format!("SELECT * FROM retention_api.run_batch(ARRAY[1]::bigint[], {g} - 1, {g}, now() + interval '10 years', 'x', 1)"), "RT001"),
        (format!("SELECT retention_api.run_candidates_insert(ARRAY[{b}]::bigint[], ARRAY[1]::bigint[], now())"), "RT002"),
        (format!("SELECT * FROM retention_api.run_mark_stale(ARRAY[{b}]::bigint[], now(), 'x')"), "RT002"),
        (format!("SELECT retention_api.run_create('manual', 'x', ARRAY[{b}]::bigint[], NULL, NULL, now(), now())"), "RT002"),
    ] {
        assert_eq!(refused(&login, &sql).await, code, "{sql}");
    }
    // holding one branch's lock marks no run of another
    let other = fx::branch(&c, "Bonn", None).await;
    login
        .batch_execute(&format!(
            "SELECT pg_advisory_lock(retention.branch_lock_key({b}))"
        ))
        .await
        .unwrap();
    assert_eq!(
        refused(
            &login,
            &format!("SELECT * FROM retention_api.run_mark_stale(ARRAY[{b}, {other}]::bigint[], now(), 'x')")
        )
        .await,
        "RT002"
    );
    common::assert_untouched(&c, g).await;
    assert_eq!(protocol_rows(&c).await, before, "no protocol row written");
    assert_eq!(
        fx::count(&c, "SELECT count(*) FROM retention.mail_outbox").await,
        0
    );
    // a row a command writes on its own carries the login and the server's time
    login
        .batch_execute("SELECT retention_api.protocol_write('bob', 'mail_failed', NULL, NULL, NULL, NULL, '{\"login\": \"bob\"}')")
        .await
        .unwrap();
    let row = c
        .query_one(
            "SELECT details->>'login', at > now() - interval '1 minute' FROM retention.action_protocol ORDER BY id DESC LIMIT 1",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), format!("{}_mallory", db.name));
    assert!(row.get::<_, bool>(1));
}

#[tokio::test]
async fn a_granted_login_holds_no_write_privilege_on_any_table() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let role = format!("{}_auditor", db.name);
    db.login("auditor").await;
    let writable = c
        .query(
            "SELECT n.nspname || '.' || t.relname || ' ' || p.privilege
             FROM pg_class t
             JOIN pg_namespace n ON n.oid = t.relnamespace
             CROSS JOIN unnest(ARRAY['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']) AS p (privilege)
             WHERE n.nspname IN ('public', 'retention', 'retention_api') AND t.relkind IN ('r', 'p', 'v')
               AND (has_table_privilege($1, t.oid, p.privilege)
                    OR (p.privilege = 'UPDATE' AND has_any_column_privilege($1, t.oid, 'UPDATE')))",
            &[&role],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<_, String>(0))
        .collect::<Vec<_>>();
    assert!(writable.is_empty(), "{writable:?}");
    // what it may run: the API, nothing of ours that writes
    let internal = c
        .query(
            "SELECT p.oid::regprocedure::text FROM pg_proc p
             WHERE p.pronamespace = 'retention'::regnamespace
               AND p.proname IN ('apply_guests', 'protocol_row', 'lock_guests', 'grant_runtime', 'hand_over',
                                 'periods_cache_refresh', 'periods_inputs')
               AND has_function_privilege($1, p.oid, 'EXECUTE')",
            &[&role],
        )
        .await
        .unwrap();
    assert!(internal.is_empty());
    // every object of ours belongs to the owner role, which cannot log in
    let foreign = fx::count(
        &c,
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname IN ('retention', 'retention_api')
           AND c.relowner <> 'retentiond_owner'::regrole",
    )
    .await
        + fx::count(
            &c,
            "SELECT count(*) FROM pg_proc p
             WHERE p.pronamespace IN ('retention'::regnamespace, 'retention_api'::regnamespace)
               AND p.proowner <> 'retentiond_owner'::regrole",
        )
        .await;
    assert_eq!(foreign, 0);
    assert_eq!(
        fx::count(&c, "SELECT count(*) FROM pg_roles WHERE rolname = 'retentiond_owner' AND NOT rolcanlogin AND NOT rolsuper").await,
        1
    );
    // every function resolves its names at creation or with a pinned path
    let loose = c
        .query(
            "SELECT p.oid::regprocedure::text FROM pg_proc p
             WHERE p.pronamespace IN ('retention'::regnamespace, 'retention_api'::regnamespace)
               AND p.prosqlbody IS NULL
               AND NOT coalesce('search_path=pg_catalog, pg_temp' = ANY (p.proconfig), false)",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<_, String>(0))
        .collect::<Vec<_>>();
    assert!(loose.is_empty(), "{loose:?}");
}

#[tokio::test]
async fn the_api_refuses_runs_nobody_holds_and_periods_that_are_no_period() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let (b, g) = guest(&c).await;
    let login = connect(&db.login("mallory").await).await;
    for (sql, code) in [
        // no branches: nothing held, nothing claimed
        (format!("SELECT retention_api.run_create('scheduled', 'x', '{{}}', {b}, current_date, now(), now())"), "RT002"),
        ("SELECT retention_api.run_create('manual', 'x', NULL, NULL, NULL, now(), now())".to_string(), "RT002"),
        (format!("SELECT * FROM retention_api.policy_set({b}, 'guest', '1 second', 'x')"), "RT001"),
        (format!("SELECT * FROM retention_api.policy_set({b}, 'guest', '1 month -30 days 1 second', 'x')"), "RT001"),
        (format!("SELECT retention_api.branch_settings_store({b}, false, ARRAY[E'x@y\\r\\nBcc: z@w'], true, true, NULL, 'x', '{{}}')"), "RT001"),
        (format!("SELECT retention_api.pending_snapshot_claim({b}, current_date + 30, now(), 0, 0)"), "RT001"),
        (format!("SELECT retention_api.erasure_request({g}, E' \\t\\n', 'x')"), "RT001"),
    ] {
        assert_eq!(refused(&login, &sql).await, code, "{sql}");
    }
    assert_eq!(
        fx::count(&c, "SELECT count(*) FROM retention.runs").await,
        0
    );
    // a manual run over no branch (every branch busy) may be recorded, but
    // nothing can be done under it
    let run: i64 = login
        .query_one(
            "SELECT retention_api.run_create('manual', 'x', '{}', NULL, NULL, now(), now())",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let sql = format!(
        "SELECT * FROM retention_api.run_batch(ARRAY[1]::bigint[], {g} - 1, {g}, now(), 'x', {run})"
    );
    assert_eq!(refused(&login, &sql).await, "RT002", "{sql}");
    common::assert_untouched(&c, g).await;
    // a shared lock on a branch's key is no run's lock
    let other = connect(&db.url).await;
    other
        .batch_execute(&format!(
            "SELECT pg_advisory_lock_shared(retention.branch_lock_key({b}))"
        ))
        .await
        .unwrap();
    assert_eq!(
        fx::count(&c, "SELECT count(*) FROM retention.branch_locks").await,
        0
    );
}

#[tokio::test]
async fn a_run_of_one_branch_cannot_work_off_another_branchs_list() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let (b1, g) = guest(&c).await;
    let b2 = fx::branch(&c, "Bonn", None).await;
    // another session's run lists branch 1 under its lock and has not
    // reached its guest yet
    let other = db.client().await;
    let plan: i64 = other
        .query_one(
            "SELECT pg_advisory_lock(retention.branch_lock_key($1)),
                    nextval('retention.run_plan_ids')",
            &[&b1],
        )
        .await
        .unwrap()
        .get(1);
    other
        .execute(
            "SELECT retention_api.run_candidates_insert(ARRAY[$1::bigint], ARRAY[$2::bigint], now())",
            &[&b1, &plan],
        )
        .await
        .unwrap();
    // mallory runs branch 2, properly locked and recorded
    let login = connect(&db.login("mallory").await).await;
    let key: i64 = c
        .query_one("SELECT retention.branch_lock_key($1)", &[&b2])
        .await
        .unwrap()
        .get(0);
    login
        .execute("SELECT pg_advisory_lock($1)", &[&key])
        .await
        .unwrap();
    let run: i64 = login
        .query_one(
            "SELECT retention_api.run_create('manual', 'x', ARRAY[$1::bigint], NULL, NULL, now(), now())",
            &[&b2],
        )
        .await
        .unwrap()
        .get(0);
    let rows = protocol_rows(&c).await;
    // branch 1's list under the run of branch 2
    let sql = format!(
        "SELECT * FROM retention_api.run_batch(ARRAY[{plan}]::bigint[], 0, {g}, now(), 'x', {run})"
    );
    assert_eq!(refused(&login, &sql).await, "RT002", "{sql}");
    common::assert_untouched(&c, g).await;
    // nor can branch 2's candidates be written into that list, or twice
    let next: i64 = c
        .query_one("SELECT nextval('retention.run_plan_ids')", &[])
        .await
        .unwrap()
        .get(0);
    for (plans, branches) in [
        (format!("ARRAY[{plan}]"), format!("ARRAY[{b2}]")),
        (
            format!("ARRAY[{next}, {next}]"),
            format!("ARRAY[{b2}, {b2}]"),
        ),
        (format!("ARRAY[{}]", next + 1000), format!("ARRAY[{b2}]")),
    ] {
        let sql = format!(
            "SELECT retention_api.run_candidates_insert({branches}::bigint[], {plans}::bigint[], now())"
        );
        assert_eq!(refused(&login, &sql).await, "RT001", "{sql}");
    }
    assert_eq!(protocol_rows(&c).await, rows);
    assert_eq!(
        fx::count(
            &c,
            &format!("SELECT count(*) FROM retention.run_candidates WHERE plan_id <> {plan}")
        )
        .await,
        0
    );
}
