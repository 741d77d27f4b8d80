//! Nothing of a login's runs with other rights: what it shadows in a
//! writable `public` or its own `pg_temp` is never picked up by `migrate`,
//! `grant`, a run or the API, and a member of the owner role gains nothing
//! when a superuser migrates or grants.

mod common;

use common::security::guest;
use common::{connect, expect_code, fx, TestDb};

/// Everything a login put into `public` where everyone may create (as on
/// PostgreSQL 14 and older, or an upgraded cluster), and into its own
/// `pg_temp`, to be picked up by someone with more rights: each records
/// who ran it.
const SHADOWS: &str = "
    CREATE FUNCTION public.shadow_ran() RETURNS void LANGUAGE sql
        AS $$ INSERT INTO public.shadow_log VALUES (current_user, session_user) $$;
    CREATE FUNCTION public.format(text, text) RETURNS text LANGUAGE sql
        AS $$ SELECT public.shadow_ran(); SELECT $1 $$;
    CREATE FUNCTION public.format(text, text, text) RETURNS text LANGUAGE sql
        AS $$ SELECT public.shadow_ran(); SELECT $1 $$;
    CREATE FUNCTION public.now() RETURNS timestamptz LANGUAGE sql
        AS $$ SELECT public.shadow_ran(); SELECT pg_catalog.now() $$;
    CREATE FUNCTION public.session_user() RETURNS text LANGUAGE sql
        AS $$ SELECT public.shadow_ran(); SELECT 'nobody'::text $$;
    CREATE FUNCTION public.holds_branches(bigint[]) RETURNS boolean LANGUAGE sql
        AS $$ SELECT public.shadow_ran(); SELECT true $$;
    CREATE FUNCTION public.has_company(text) RETURNS boolean LANGUAGE sql
        AS $$ SELECT public.shadow_ran(); SELECT true $$;
    CREATE FUNCTION public.text_eq(text, name) RETURNS boolean LANGUAGE sql
        AS $$ SELECT public.shadow_ran(); SELECT true $$;
    CREATE OPERATOR public.= (LEFTARG = text, RIGHTARG = name, FUNCTION = public.text_eq);
    CREATE FUNCTION public.bigint_eq(bigint, integer) RETURNS boolean LANGUAGE sql
        AS $$ SELECT public.shadow_ran(); SELECT true $$;
    CREATE OPERATOR public.= (LEFTARG = bigint, RIGHTARG = integer, FUNCTION = public.bigint_eq);
    CREATE TABLE public.runs (id bigint);
    CREATE TABLE public.action_protocol (id bigint);
";

#[tokio::test]
async fn nothing_a_login_shadows_runs_with_other_rights() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    let (b, g) = guest(&c).await;
    c.batch_execute(
        "GRANT CREATE ON SCHEMA public TO PUBLIC;
         CREATE TABLE public.shadow_log (role_name text, login text);
         GRANT INSERT ON public.shadow_log TO PUBLIC;",
    )
    .await
    .unwrap();
    let url = db.login("mallory").await;
    let login = connect(&url).await;
    login.batch_execute(SHADOWS).await.unwrap();
    // and in its own session's pg_temp, for the API it calls from there
    login
        .batch_execute(
            "CREATE FUNCTION pg_temp.format(text, text) RETURNS text LANGUAGE sql
                 AS $$ SELECT public.shadow_ran(); SELECT $1 $$;
             CREATE TABLE pg_temp.guests (id bigint);
             CREATE TABLE pg_temp.erasure_requests (id bigint);",
        )
        .await
        .unwrap();
    // the owner migrates (the rules again) and grants; a run as a
    // superuser; the login calls the API from its session
    c.batch_execute("DELETE FROM retention.schema_rules")
        .await
        .unwrap();
    expect_code(&db.cli(&["migrate"]), 0);
    expect_code(
        &db.cli(&["grant", "--role", &format!("{}_mallory", db.name)]),
        0,
    );
    expect_code(&db.cli(&["run", "--yes"]), 0);
    common::assert_anonymized(&c, g).await;
    let other = fx::guest(&c, b, common::day("2025-01-01")).await;
    login
        .query_one(
            "SELECT retention_api.erasure_request($1, 'asked by mail', 'mallory')",
            &[&other],
        )
        .await
        .unwrap();
    login
        .batch_execute("SELECT retention_api.policy_set(1, 'guest', '4 years', 'mallory')")
        .await
        .ok();
    expect_code(&db.cli_as(&url, &["pending"]), 0);
    expect_code(&db.cli_as(&url, &["status"]), 0);
    let ran = c
        .query("SELECT role_name, login FROM public.shadow_log", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get::<_, String>(0), r.get::<_, String>(1)))
        .collect::<Vec<_>>();
    assert!(ran.is_empty(), "the login's objects ran as {ran:?}");
    // the shadows work where they are asked for by name: the test can fail
    login
        .batch_execute("SELECT public.shadow_ran()")
        .await
        .unwrap();
    assert_eq!(
        fx::count(&c, "SELECT count(*) FROM public.shadow_log").await,
        1
    );
}

#[tokio::test]
async fn a_member_of_the_owner_role_gains_nothing_when_a_superuser_migrates_or_grants() {
    let db = TestDb::migrated().await;
    let c = db.client().await;
    guest(&c).await;
    let member = format!("{}_owner_member", db.name);
    c.batch_execute(&format!(
        "CREATE ROLE \"{member}\" LOGIN; GRANT retentiond_owner TO \"{member}\";"
    ))
    .await
    .unwrap();
    let o = connect(&db.url.replace("user=postgres", &format!("user={member}"))).await;
    // code of the owner role's that the superuser's migrate or grant would run
    let escalate = format!(
        "IF (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
             EXECUTE 'ALTER ROLE \"{member}\" SUPERUSER';
         END IF;"
    );
    o.batch_execute(&format!(
        "SET ROLE retentiond_owner;
         ALTER FUNCTION retention.grant_runtime(text) RENAME TO grant_runtime_impl;
         CREATE FUNCTION retention.grant_runtime(role_name text) RETURNS void LANGUAGE plpgsql
             SET search_path = pg_catalog, pg_temp
             AS $f$ BEGIN {escalate} PERFORM retention.grant_runtime_impl(role_name); END $f$;
         CREATE FUNCTION retention.planted() RETURNS trigger LANGUAGE plpgsql
             SET search_path = pg_catalog, pg_temp
             AS $f$ BEGIN {escalate} RETURN NULL; END $f$;
         CREATE TRIGGER planted AFTER INSERT OR UPDATE OR DELETE ON retention.schema_rules
             FOR EACH STATEMENT EXECUTE FUNCTION retention.planted();
         CREATE TRIGGER planted AFTER INSERT OR UPDATE OR DELETE ON retention.granted_logins
             FOR EACH STATEMENT EXECUTE FUNCTION retention.planted();"
    ))
    .await
    .unwrap();
    let login = format!("{}_reader", db.name);
    c.batch_execute(&format!("CREATE ROLE \"{login}\" LOGIN"))
        .await
        .unwrap();
    expect_code(&db.cli(&["grant", "--role", &login]), 0);
    // the rules out of date: migrate applies them (and records them) again
    o.batch_execute("UPDATE retention.schema_rules SET checksum = 'x' WHERE name = 'api'")
        .await
        .unwrap();
    let out = expect_code(&db.cli(&["migrate"]), 0);
    assert!(out.contains("rules applied"), "{out}");
    let superuser = fx::count(
        &c,
        &format!("SELECT count(*) FROM pg_roles WHERE rolname = '{member}' AND rolsuper"),
    )
    .await;
    assert_eq!(
        superuser, 0,
        "the owner role's code ran with the superuser's rights"
    );
}
