-- Two roles and four eyes bound to database identity.
--
-- retention.grant_runtime gives an existing login role exactly what the
-- daemon and the admins' commands need, and owns nothing: on the protocol
-- only SELECT and INSERT (so it can neither change nor remove a row, nor
-- alter, disable or drop the table or its triggers), on the POS tables
-- SELECT and UPDATE of the columns anonymization writes, on retentiond's
-- other tables what each command needs. `retentiond grant --role NAME`
-- calls it as the owner.
CREATE FUNCTION retention.grant_runtime(role_name text) RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    EXECUTE format('GRANT USAGE ON SCHEMA public, retention TO %I', role_name);
    EXECUTE format('GRANT SELECT ON public.branches, public.guests, public.sales,
                    public.reservations, public.newsletter_subscriptions, public.invoices,
                    public.customer_cards TO %I', role_name);
    EXECUTE format('GRANT UPDATE (first_name, last_name, email, phone, street, birthday, notes,
                    company, vat_id, economic_id, anonymized_at, fiscal_erased_at)
                    ON public.guests TO %I', role_name);
    EXECUTE format('GRANT UPDATE (notes) ON public.reservations TO %I', role_name);
    EXECUTE format('GRANT UPDATE (email, unsubscribed_at) ON public.newsletter_subscriptions
                    TO %I', role_name);
    EXECUTE format('GRANT UPDATE (pdf) ON public.invoices TO %I', role_name);
    EXECUTE format('GRANT SELECT, INSERT ON retention.action_protocol TO %I', role_name);
    EXECUTE format('GRANT SELECT ON retention.schema_migrations, retention.effective_policies,
                    retention.guest_classification, retention.guest_classification_scan
                    TO %I', role_name);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE ON retention.runs, retention.mail_outbox,
                    retention.pending_snapshots, retention.branch_settings,
                    retention.erasure_requests TO %I', role_name);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON retention.policies TO %I', role_name);
    EXECUTE format('GRANT SELECT, INSERT, DELETE ON retention.run_candidates TO %I', role_name);
    EXECUTE format('GRANT USAGE ON ALL SEQUENCES IN SCHEMA retention TO %I', role_name);
END
$$;

COMMENT ON FUNCTION retention.grant_runtime(text) IS
    'Grants a login role what retentiond''s daemon and commands need, no ownership.';

-- The requester and the decider of an erasure request are database logins
-- (session_user), recorded by the database itself; --actor is a label.
-- The login that requested can never approve or reject its own request;
-- it can withdraw it, which is no decision.
ALTER TABLE retention.erasure_requests
    ADD COLUMN requested_login text NOT NULL DEFAULT session_user,
    ADD COLUMN decided_login text NULL;
ALTER TABLE retention.erasure_requests DROP CONSTRAINT erasure_requests_status_check;
ALTER TABLE retention.erasure_requests ADD CONSTRAINT erasure_requests_status_check
    CHECK (status IN ('open', 'approved', 'rejected', 'withdrawn'));
-- the label check of migration 7: the logins decide now
ALTER TABLE retention.erasure_requests DROP CONSTRAINT erasure_requests_check1;

CREATE FUNCTION retention.erasure_four_eyes() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        NEW.requested_login := session_user;
        NEW.decided_login := NULL;
        RETURN NEW;
    END IF;
    IF NEW.requested_login IS DISTINCT FROM OLD.requested_login THEN
        RAISE EXCEPTION 'the login that requested erasure request % cannot be changed', OLD.id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF OLD.status = 'open' AND NEW.status <> 'open' THEN
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
    ELSIF NEW.decided_login IS DISTINCT FROM OLD.decided_login THEN
        RAISE EXCEPTION 'the login that decided erasure request % cannot be changed', OLD.id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER erasure_four_eyes
    BEFORE INSERT OR UPDATE ON retention.erasure_requests
    FOR EACH ROW EXECUTE FUNCTION retention.erasure_four_eyes();
