-- The database is the boundary: logins change data only through
-- retentiond's functions.
--
-- The objects of `retention` and `retention_api` are handed to a role that
-- cannot log in (database.owner_role, by `retentiond migrate`). Logins get
-- USAGE on `retention_api`, EXECUTE on its functions and SELECT where a
-- command reads (retention.grant_runtime, sql/rules/api.sql); no INSERT,
-- UPDATE, DELETE or TRUNCATE on any table, ours or the POS's. Every change
-- goes through a function of `retention_api` that runs with the owner's
-- rights (SECURITY DEFINER) and checks what it is asked.

CREATE SCHEMA retention_api;
COMMENT ON SCHEMA retention_api IS
    'retentiond''s functions: the only way logins change retention data or guest data.';
REVOKE ALL ON SCHEMA retention_api FROM PUBLIC;

-- The logins `retentiond grant` gave the API to: every time the rules are
-- applied, each gets EXECUTE on today's functions (sql/rules/api.sql).
CREATE TABLE retention.granted_logins (
    login      text PRIMARY KEY,
    granted_at timestamptz NOT NULL DEFAULT now(),
    granted_by text NOT NULL DEFAULT session_user
);
COMMENT ON TABLE retention.granted_logins IS
    'Logins granted retentiond''s API (retentiond grant).';

-- Logins granted by the previous release held INSERT and UPDATE on our
-- tables and UPDATE on the POS columns: taken away, and the login is kept
-- for the API grant of sql/rules/api.sql.
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN
        SELECT DISTINCT g.grantee::text AS login
        FROM information_schema.role_table_grants g
        WHERE g.table_schema = 'retention' AND g.table_name = 'action_protocol'
          AND g.privilege_type = 'INSERT'
          AND g.grantee::text <> (SELECT c.relowner::regrole::text FROM pg_catalog.pg_class c
                                  WHERE c.oid = 'retention.action_protocol'::regclass)
          AND g.grantee::text <> 'PUBLIC'
    LOOP
        EXECUTE pg_catalog.format(
            'REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA retention FROM %I',
            r.login);
        EXECUTE pg_catalog.format(
            'REVOKE UPDATE ON public.guests, public.reservations, public.newsletter_subscriptions,
                              public.invoices FROM %I', r.login);
        EXECUTE pg_catalog.format(
            'REVOKE UPDATE (first_name, last_name, email, phone, street, birthday, notes, company,
                            vat_id, economic_id, anonymized_at, fiscal_erased_at)
             ON public.guests FROM %I', r.login);
        EXECUTE pg_catalog.format('REVOKE UPDATE (notes) ON public.reservations FROM %I', r.login);
        EXECUTE pg_catalog.format(
            'REVOKE UPDATE (email, unsubscribed_at) ON public.newsletter_subscriptions FROM %I',
            r.login);
        EXECUTE pg_catalog.format('REVOKE UPDATE (pdf) ON public.invoices FROM %I', r.login);
        EXECUTE pg_catalog.format('REVOKE ALL ON ALL SEQUENCES IN SCHEMA retention FROM %I',
                                  r.login);
        INSERT INTO retention.granted_logins (login) VALUES (r.login) ON CONFLICT DO NOTHING;
    END LOOP;
END
$$;

DROP FUNCTION retention.grant_runtime(text);
DROP FUNCTION retention.grant_runtime_tables(text);

-- Our trigger functions resolve no name through the caller's search_path.
ALTER FUNCTION retention.reject_action_protocol_change() SET search_path = pg_catalog, pg_temp;

-- An erasure request: its guest, branch, requester and reason are fixed at
-- creation (the reason is only ever blanked, at the decision); a decided
-- request never changes again; four eyes by login as before.
CREATE OR REPLACE FUNCTION retention.erasure_four_eyes() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        NEW.requested_login := session_user;
        NEW.decided_login := NULL;
        RETURN NEW;
    END IF;
    IF OLD.status <> 'open' THEN
        RAISE EXCEPTION 'erasure request % is % already and never changes again', OLD.id, OLD.status
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.id IS DISTINCT FROM OLD.id OR NEW.guest_id IS DISTINCT FROM OLD.guest_id
       OR NEW.branch_id IS DISTINCT FROM OLD.branch_id
       OR NEW.requested_by IS DISTINCT FROM OLD.requested_by
       OR NEW.requested_at IS DISTINCT FROM OLD.requested_at
       OR NEW.requested_login IS DISTINCT FROM OLD.requested_login
       OR (NEW.reason IS DISTINCT FROM OLD.reason AND NEW.reason IS NOT NULL) THEN
        RAISE EXCEPTION 'the guest, branch, requester and reason of erasure request % cannot be changed',
            OLD.id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.status = 'open' THEN
        IF NEW IS DISTINCT FROM OLD THEN
            RAISE EXCEPTION 'an open erasure request (%) changes only by its decision', OLD.id
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        RETURN NEW;
    END IF;
    NEW.decided_login := session_user;
    IF NEW.status IN ('approved', 'rejected') AND session_user = OLD.requested_login THEN
        RAISE EXCEPTION 'four-eyes principle: the login % requested erasure request % and cannot decide it',
            session_user, OLD.id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.status = 'withdrawn' AND session_user <> OLD.requested_login THEN
        RAISE EXCEPTION 'only the login that requested erasure request % can withdraw it', OLD.id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;

CREATE FUNCTION retention.reject_erasure_request_removal() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RAISE EXCEPTION 'erasure requests are never removed: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER erasure_requests_no_delete
    BEFORE DELETE ON retention.erasure_requests
    FOR EACH STATEMENT EXECUTE FUNCTION retention.reject_erasure_request_removal();
CREATE TRIGGER erasure_requests_no_truncate
    BEFORE TRUNCATE ON retention.erasure_requests
    FOR EACH STATEMENT EXECUTE FUNCTION retention.reject_erasure_request_removal();
ALTER TABLE retention.erasure_requests ENABLE ALWAYS TRIGGER erasure_requests_no_delete;
ALTER TABLE retention.erasure_requests ENABLE ALWAYS TRIGGER erasure_requests_no_truncate;
ALTER TABLE retention.erasure_requests ENABLE ALWAYS TRIGGER erasure_four_eyes;
