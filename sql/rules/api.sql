-- retentiond's API: the only way a login changes retention data or guest
-- data (migration 13). Every function here runs with the owner's rights
-- (SECURITY DEFINER), resolves no name through the caller's search_path,
-- sets `at`, the login (session_user, in details.login) and the id of each
-- protocol row itself (`actor` is the --actor label), and checks what it is
-- asked: a run anonymizes only guests that the rules say are due, re-checked
-- under the row locks, at a cut-off that is not in the future; an erasure
-- request is created, withdrawn, approved and rejected only here; the
-- outbox takes only a branch's configured recipients.
--
-- SQLSTATEs of our own refusals: RT001 an argument out of bounds, RT002 a
-- run or branch this session does not hold, RT003 an erasure request in
-- the wrong state, RT004 an erasure blocked, RT005 a guest row locked,
-- RT006 deleting paused.

-- Whether this session holds the run locks of all these branches (at
-- least one, none NULL; runs.sql).
CREATE OR REPLACE FUNCTION retention.holds_branches(branches bigint[]) RETURNS boolean
LANGUAGE sql VOLATILE
BEGIN ATOMIC
    SELECT coalesce(cardinality(branches) > 0, false)
       AND array_position(branches, NULL) IS NULL
       -- pg_locks read once (about 1 ms, whatever it holds): every batch
       -- asks; an anti-join per branch took 2.8 ms at 100 branches
       AND branches <@ ARRAY(SELECT l.branch_id FROM retention.branch_locks l
                             WHERE l.pid = pg_catalog.pg_backend_pid());
END;

-- This database session, as a run records it (migration 16): its server
-- process and that process's start, so that a later process with the same
-- pid is another session. Read from this backend's own activity row, not
-- the pg_stat_activity view (every backend's row, joined to the roles and
-- databases: 0.6 against 0.13 ms, and every batch asks).
CREATE OR REPLACE FUNCTION retention.session_key() RETURNS text
LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT pg_catalog.pg_backend_pid()::text || '@'
           || coalesce((SELECT a.backend_start::text
                        FROM pg_catalog.pg_stat_get_activity(pg_catalog.pg_backend_pid()) a),
                       '');
END;

-- Whether the login is a superuser: it may change any row anyway, so the
-- bounds on instants below (which let tests simulate other days) do not
-- apply to it.
CREATE OR REPLACE FUNCTION retention.by_superuser() RETURNS boolean
LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT coalesce((SELECT r.rolsuper FROM pg_catalog.pg_roles r
                     WHERE r.rolname = session_user), false);
END;

-- A text with something in it besides white space.
CREATE OR REPLACE FUNCTION retention.has_text(t text) RETURNS boolean
LANGUAGE sql IMMUTABLE
BEGIN ATOMIC SELECT coalesce(btrim(t, E' \t\r\n\f\v') <> '', false); END;

-- A protocol row, written by the functions below.
CREATE OR REPLACE FUNCTION retention.protocol_row(
    actor text, action text, branch_id bigint, guest_id bigint, guest_type text, run_id bigint,
    details jsonb
) RETURNS void
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
    INSERT INTO retention.action_protocol (actor, action, branch_id, guest_id, guest_type, run_id,
                                           details)
    VALUES ($1, $2, $3, $4, $5, $6,
            coalesce($7, '{}'::jsonb) || jsonb_build_object('login', session_user::text))
$$;
REVOKE ALL ON FUNCTION retention.protocol_row(text, text, bigint, bigint, text, bigint, jsonb)
    FROM PUBLIC;

-- The actions a command writes on its own; the others are written by the
-- function that does what they record.
CREATE OR REPLACE FUNCTION retention_api.protocol_write(
    actor text, action text, branch_id bigint, guest_id bigint, guest_type text, run_id bigint,
    details jsonb
) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF action NOT IN ('run_started', 'run_held', 'run_finished', 'export_created', 'mail_failed') THEN
        RAISE EXCEPTION 'a % row is written only by the function that does it', action
            USING ERRCODE = 'RT001';
    END IF;
    IF action LIKE 'run\_%' AND NOT EXISTS (SELECT 1 FROM retention.runs r
                                            WHERE r.id = run_id
                                              AND r.session = retention.session_key()) THEN
        RAISE EXCEPTION 'run % is not this session''s', run_id USING ERRCODE = 'RT002';
    END IF;
    PERFORM retention.protocol_row(actor, action, branch_id, guest_id, guest_type, run_id, details);
END
$$;

-- A cut-off in the future would make guests due that are not: refused to
-- every login but a superuser, who can change any row anyway (the tests
-- simulate later nights that way).
CREATE OR REPLACE FUNCTION retention.check_cutoff(cutoff timestamptz) RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF cutoff IS NULL OR (cutoff > now() + interval '5 minutes' AND NOT retention.by_superuser()) THEN
        RAISE EXCEPTION 'the cut-off % is in the future: a run decides what is due now', cutoff
            USING ERRCODE = 'RT001';
    END IF;
END
$$;

---------------------------------------------------------------------------
-- Runs

CREATE OR REPLACE FUNCTION retention_api.run_create(
    kind text, actor text, branches bigint[], night_branch_id bigint, night date,
    cutoff timestamptz, started_at timestamptz
) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    id bigint;
BEGIN
    PERFORM retention.check_cutoff(cutoff);
    -- a manual run over no branch records that every branch was busy
    IF NOT (retention.holds_branches(branches)
            OR (coalesce(cardinality(branches) = 0, false) AND night_branch_id IS NULL
                AND night IS NULL)) THEN
        RAISE EXCEPTION 'a run is recorded only by the session that holds its branches'' locks'
            USING ERRCODE = 'RT002';
    END IF;
    IF night_branch_id IS NOT NULL AND branches <> ARRAY[night_branch_id] THEN
        RAISE EXCEPTION 'a scheduled run covers exactly its night''s branch' USING ERRCODE = 'RT001';
    END IF;
    PERFORM retention.refuse_when_paused(branches);
    IF (night_branch_id IS NULL) <> (night IS NULL)
       OR (night NOT BETWEEN current_date - 2 AND current_date + 1
           AND NOT retention.by_superuser()) THEN
        RAISE EXCEPTION 'a scheduled run claims tonight''s or last night''s night, not %', night
            USING ERRCODE = 'RT001';
    END IF;
    INSERT INTO retention.runs (kind, actor, branches, night_branch_id, night, cutoff, started_at,
                                session)
    VALUES (kind, actor, branches, night_branch_id, night, cutoff, started_at,
            retention.session_key())
    ON CONFLICT (night_branch_id, night) WHERE retention.run_claims_night(status) DO NOTHING
    RETURNING runs.id INTO id;
    RETURN id;
END
$$;

-- A running run of this session's branches: its branches (RT002 if not).
-- (It returned nothing before rules version 6: dropped to change that.)
DROP FUNCTION IF EXISTS retention.own_run(bigint);
CREATE FUNCTION retention.own_run(run bigint) RETURNS bigint[]
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    held bigint[];
BEGIN
    SELECT r.branches INTO held FROM retention.runs r
    WHERE r.id = run AND r.status = 'running'
      AND r.session = retention.session_key()
      AND retention.holds_branches(r.branches);
    IF NOT FOUND THEN
        RAISE EXCEPTION 'run % is not running under this session''s branch locks', run
            USING ERRCODE = 'RT002';
    END IF;
    RETURN held;
END
$$;

CREATE OR REPLACE FUNCTION retention_api.run_finish(
    id bigint, status text, counts jsonb, remaining bigint, held jsonb, error text,
    finished_at timestamptz, branch_counts jsonb
) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    n bigint;
BEGIN
    IF EXISTS (SELECT 1 FROM retention.runs r
               WHERE r.id = run_finish.id AND r.status = 'running'
                 AND (r.session IS DISTINCT FROM retention.session_key()
                      OR NOT (cardinality(r.branches) = 0
                              OR retention.holds_branches(r.branches)))) THEN
        RAISE EXCEPTION 'run % is another session''s', id USING ERRCODE = 'RT002';
    END IF;
    UPDATE retention.runs r
    SET status = run_finish.status, counts = run_finish.counts, remaining = run_finish.remaining,
        held = run_finish.held, error = run_finish.error, finished_at = run_finish.finished_at,
        branch_counts = run_finish.branch_counts
    WHERE r.id = run_finish.id AND r.status = 'running';
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;

-- Takes the advisory locks of `branches` for this session in ascending
-- order, stopping at the first one another session holds (the caller waits
-- for that one, then goes on with the rest); returns the branches taken.
-- One round trip for all the branches of a run nobody else holds.
CREATE OR REPLACE FUNCTION retention_api.branch_try_lock_in_order(branches bigint[])
RETURNS bigint[]
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    branch bigint;
    taken bigint[] := '{}';
BEGIN
    FOR branch IN SELECT DISTINCT b.id FROM unnest(branches) AS b (id)
                  WHERE b.id IS NOT NULL ORDER BY b.id LOOP
        EXIT WHEN NOT pg_try_advisory_lock(retention.branch_lock_key(branch));
        taken := taken || branch;
    END LOOP;
    RETURN taken;
END
$$;

-- Runs of the branches still marked running whose session is gone:
-- interrupted, with the counts of what they committed (their protocol
-- rows); each with the lowest of its branches among `branches` (it was
-- found there). Only the holder of the branches' locks may say so.
DROP FUNCTION IF EXISTS retention_api.run_mark_stale(bigint, timestamptz, text);
CREATE OR REPLACE FUNCTION retention_api.run_mark_stale(
    branches bigint[], at timestamptz, actor text
) RETURNS TABLE (run_id bigint, found_by_branch bigint)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    IF NOT retention.holds_branches(branches) THEN
        RAISE EXCEPTION 'only the holder of the branches'' locks marks their runs'
            USING ERRCODE = 'RT002';
    END IF;
    RETURN QUERY
    WITH dead AS MATERIALIZED (
        SELECT r.id, (SELECT min(b.id) FROM unnest(r.branches) AS b (id)
                      WHERE b.id = ANY (run_mark_stale.branches)) AS branch
        FROM retention.runs r
        WHERE r.status = 'running' AND r.branches && run_mark_stale.branches
        FOR UPDATE
    ),
    done AS MATERIALIZED (
        SELECT p.run_id, p.branch_id, p.action, p.guest_type, count(*) AS guests
        FROM retention.action_protocol p
        WHERE p.run_id IN (SELECT d.id FROM dead d)
          AND p.action IN ('guest_anonymized', 'newsletter_unsubscribed', 'fiscal_data_erased')
        GROUP BY 1, 2, 3, 4
    ),
    per_action AS (
        SELECT d.run_id, d.branch_id, d.action, jsonb_object_agg(d.guest_type, d.guests) AS types
        FROM done d GROUP BY 1, 2, 3
    ),
    per_run AS (
        SELECT a.run_id, jsonb_object_agg(a.action, a.types) AS counts
        FROM (SELECT x.run_id, x.action, jsonb_object_agg(x.guest_type, x.guests) AS types
              FROM (SELECT d.run_id, d.action, d.guest_type, sum(d.guests) AS guests
                    FROM done d GROUP BY 1, 2, 3) x
              GROUP BY 1, 2) a
        GROUP BY 1
    ),
    per_branch AS (
        SELECT b.run_id, jsonb_object_agg(b.branch_id::text, b.actions) AS branch_counts
        FROM (SELECT a.run_id, a.branch_id, jsonb_object_agg(a.action, a.types) AS actions
              FROM per_action a GROUP BY 1, 2) b
        GROUP BY 1
    ),
    stale AS (
        UPDATE retention.runs r
        SET status = 'interrupted', finished_at = at,
            counts = coalesce((SELECT c.counts FROM per_run c WHERE c.run_id = r.id), '{}'),
            branch_counts = coalesce((SELECT c.branch_counts FROM per_branch c
                                      WHERE c.run_id = r.id), '{}'),
            error = 'the run ended without finishing (process killed or database connection '
                    'lost); guests it did not reach are left for the next run'
        WHERE r.id IN (SELECT d.id FROM dead d)
        RETURNING r.id, r.branches, r.counts
    ),
    logged AS (
        INSERT INTO retention.action_protocol (actor, action, branch_id, run_id, details)
        SELECT actor, 'run_finished',
               CASE WHEN cardinality(s.branches) = 1 THEN s.branches[1] END, s.id,
               jsonb_build_object('status', 'interrupted', 'stale', true,
                                  'found_by_branch', d.branch, 'counts', s.counts,
                                  'login', session_user::text)
        FROM stale s
        JOIN dead d ON d.id = s.id
        RETURNING action_protocol.run_id,
                  (action_protocol.details ->> 'found_by_branch')::bigint AS branch
    )
    SELECT l.run_id, l.branch FROM logged l;
END
$$;

-- The scratch list of a run's candidates (retention.run_candidates).
CREATE OR REPLACE FUNCTION retention_api.run_candidates_insert(
    branches bigint[], plan_ids bigint[], cutoff timestamptz
) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n bigint;
BEGIN
    PERFORM retention.check_cutoff(cutoff);
    IF NOT retention.holds_branches(branches) THEN
        RAISE EXCEPTION 'candidates are listed only under the branches'' locks'
            USING ERRCODE = 'RT002';
    END IF;
    -- one new list per branch: a plan id drawn from the sequence and not
    -- used yet, none twice (the candidates have no key that would refuse
    -- a list written twice or into another run's list)
    IF cardinality(plan_ids) IS DISTINCT FROM cardinality(branches)
       OR (SELECT count(DISTINCT x.id) FROM unnest(plan_ids) AS x (id)) <> cardinality(plan_ids)
       OR (SELECT count(DISTINCT x.id) FROM unnest(branches) AS x (id)) <> cardinality(branches)
       OR (SELECT max(x.id) FROM unnest(plan_ids) AS x (id))
          > (SELECT q.last_value FROM retention.run_plan_ids q)
       OR EXISTS (SELECT 1 FROM retention.run_candidates c WHERE c.plan_id = ANY (plan_ids)) THEN
        RAISE EXCEPTION 'a listing takes one new plan id (retention.run_plan_ids) per branch'
            USING ERRCODE = 'RT001';
    END IF;
    -- the batches read the periods from the cache from here on
    PERFORM retention.periods_cache_refresh();
    INSERT INTO retention.run_candidates
        (plan_id, guest_id, branch_id, guest_type, anonymize, erase_fiscal, newsletter_active)
    SELECT p.plan_id, d.guest_id, d.branch_id, d.guest_type, d.anonymize, d.erase_fiscal,
           d.newsletter_active
    FROM (
        SELECT c.guest_id, c.branch_id, c.guest_type, c.newsletter_active, c.blocked_reason,
               retention.anonymize_due(c.anonymized_at, c.personal_deadline, cutoff) AS anonymize,
               retention.fiscal_erasure_due(c.guest_type, c.fiscal_erased_at, c.fiscal_deadline,
                                            cutoff) AS erase_fiscal
        FROM retention.guest_classification_scan c
        WHERE c.branch_id = ANY (branches)
          AND retention.work_left(c.anonymized_at, c.fiscal_erased_at, c.has_company)
        OFFSET 0 -- classify each guest once (see sql/rules/pending.sql)
    ) d
    JOIN unnest(branches, plan_ids) AS p (branch_id, plan_id) ON p.branch_id = d.branch_id
    WHERE (d.anonymize OR d.erase_fiscal) AND d.blocked_reason IS NULL
    -- in key order: the index grows at its end (0.4 s less at 131,000
    -- candidates, measured)
    ORDER BY d.guest_id;
    GET DIAGNOSTICS n = ROW_COUNT;
    -- the batches' range lookups are planned on what the lists hold now:
    -- with the statistics of an empty table, the next batch of a run over
    -- ten branches sorted every candidate left (14 ms a batch, measured)
    IF n > 0 THEN
        ANALYZE retention.run_candidates (plan_id, guest_id);
    END IF;
    RETURN n;
END
$$;

CREATE OR REPLACE FUNCTION retention_api.run_candidates_delete(plan_ids bigint[]) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- the branches this session holds, once (not a lock lookup per row)
    DELETE FROM retention.run_candidates c
    WHERE c.plan_id = ANY (plan_ids)
      AND c.branch_id IN (SELECT l.branch_id FROM retention.branch_locks l
                          WHERE l.pid = pg_catalog.pg_backend_pid());
END
$$;

CREATE OR REPLACE FUNCTION retention_api.run_candidates_clear_branch(branches bigint[])
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT retention.holds_branches(branches) THEN
        RAISE EXCEPTION 'candidates are cleared only under the branches'' locks'
            USING ERRCODE = 'RT002';
    END IF;
    DELETE FROM retention.run_candidates c WHERE c.branch_id = ANY (branches);
END
$$;

-- The one anonymization statement: the guests of `ids` that are due at
-- `cutoff` (re-checked here, under the caller's row locks) and in one of
-- `branches` (NULL: any), or `forced`
-- (an approved erasure); their personal data, the company data where the
-- company's deadline has passed, reservation notes, newsletter addresses and
-- invoice PDFs; one protocol row per guest and action, counted per branch,
-- action and guest type. Internal: reached only through the functions below.
DROP FUNCTION IF EXISTS retention.apply_guests(bigint[], timestamptz, text, bigint, bigint[], jsonb,
                                               bigint);
CREATE OR REPLACE FUNCTION retention.apply_guests(
    ids bigint[], cutoff timestamptz, actor text, run_id bigint, forced bigint[],
    details jsonb, branches bigint[]
) RETURNS TABLE (branch_id bigint, action text, guest_type text, guests bigint)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
-- one plan for every batch of the session: a plan made for each batch's
-- ids cost 3 to 5 ms of planning a batch, and the plan cache could switch
-- to its generic plan in the middle of a run anyway
SET plan_cache_mode = force_generic_plan
AS $$
#variable_conflict use_column
DECLARE
    range_lo bigint;
    range_hi bigint;
    facts_per_guest double precision;
    by_range boolean;
BEGIN
-- Guests close together (a backlog's batch, an erasure's one guest) with
-- few sales, reservations and invoices each are re-checked by the range
-- path, a range scan per table over their ids; others by the index path,
-- a lookup per guest. The range path reads every row of every guest in
-- the range, due or not: beyond 4 ids per guest, or 4 such rows per guest
-- (the planner's row counts; tables never analyzed are small and take the
-- range path), it reads more than the lookups would. In
-- psql, 750 guests over 1653 ids of the demo data (2 rows a guest): 3 to
-- 4 ms less with the range path of a 45 ms batch; 700 guests over 1749
-- ids with a long history (28 rows a guest): 5 ms more.
SELECT min(x.id), max(x.id) INTO range_lo, range_hi FROM unnest($1) AS x (id);
SELECT sum(greatest(c.reltuples, 0)) FILTER (WHERE c.relname <> 'guests')
       / nullif(sum(greatest(c.reltuples, 0)) FILTER (WHERE c.relname = 'guests'), 0)
INTO facts_per_guest
FROM pg_catalog.pg_class c
WHERE c.relnamespace = 'public'::regnamespace
  AND c.relname IN ('guests', 'sales', 'reservations', 'invoices') AND c.relkind = 'r';
-- (the span in numeric: ids far apart would overflow bigint)
by_range := range_hi::numeric - range_lo < 4 * cardinality($1)
            AND coalesce(facts_per_guest <= 4, true);
-- PL/pgSQL keeps the statement's (generic) plan for the session: a batch
-- does not plan the classification again; of the two paths it runs only
-- the one by_range chooses
RETURN QUERY
WITH due AS MATERIALIZED (
    SELECT d.*, e.erase_company
    FROM (
        SELECT c.guest_id, c.branch_id, c.guest_type, c.newsletter_active, c.has_reservations,
               c.has_subscription, c.has_invoices,
               retention.anonymize_due(c.anonymized_at, c.personal_deadline, $2)
                   OR (c.anonymized_at IS NULL AND c.guest_id = ANY ($5)) AS anonymize,
               retention.fiscal_erasure_due(c.guest_type, c.fiscal_erased_at, c.fiscal_deadline, $2)
                   AS erase_fiscal
        FROM (
            SELECT x.* FROM retention.guest_classification x
            WHERE NOT by_range AND x.guest_id = ANY ($1)
            UNION ALL
            SELECT x.* FROM retention.guest_classification_between(range_lo, range_hi) x
            WHERE by_range AND x.guest_id = ANY ($1)
        ) c
        WHERE ($7 IS NULL OR c.branch_id = ANY ($7))
          AND c.blocked_reason IS NULL
        OFFSET 0 -- classify each guest once (see sql/rules/pending.sql)
    ) d
    CROSS JOIN LATERAL (
        SELECT retention.company_data_erased(d.anonymize, d.erase_fiscal, d.guest_type)
            AS erase_company
    ) e
    WHERE d.anonymize OR d.erase_fiscal
),
-- the guests whose other rows change, each list only of guests that have
-- such rows (the re-check read them; under the guests' row locks no row of
-- theirs is added): looking up a guest without such rows costs as much as
-- one with them (2 ms a batch of 750 guests, measured)
ids AS MATERIALIZED (
    SELECT coalesce(array_agg(due.guest_id) FILTER (WHERE due.anonymize AND due.has_reservations),
                    '{}') AS reserved,
           coalesce(array_agg(due.guest_id) FILTER (WHERE due.anonymize AND due.has_subscription),
                    '{}') AS subscribed,
           coalesce(array_agg(due.guest_id) FILTER (WHERE due.erase_company AND due.has_invoices),
                    '{}') AS company_gone
    FROM due
),
upd_guests AS (
    UPDATE public.guests g SET
        first_name  = CASE WHEN d.anonymize THEN NULL ELSE g.first_name END,
        last_name   = CASE WHEN d.anonymize THEN 'DSGVO' ELSE g.last_name END,
        email       = CASE WHEN d.anonymize THEN NULL ELSE g.email END,
        phone       = CASE WHEN d.anonymize THEN NULL ELSE g.phone END,
        street      = CASE WHEN d.anonymize THEN NULL ELSE g.street END,
        birthday    = CASE WHEN d.anonymize THEN NULL ELSE g.birthday END,
        notes       = CASE WHEN d.anonymize THEN NULL ELSE g.notes END,
        -- company fields stay for a company guest until its fiscal deadline
        company     = CASE WHEN d.erase_company THEN NULL ELSE g.company END,
        vat_id      = CASE WHEN d.erase_company THEN NULL ELSE g.vat_id END,
        economic_id = CASE WHEN d.erase_company THEN NULL ELSE g.economic_id END,
        anonymized_at    = CASE WHEN d.anonymize THEN now() ELSE g.anonymized_at END,
        fiscal_erased_at = CASE WHEN d.erase_fiscal THEN now() ELSE g.fiscal_erased_at END
    FROM due d
    WHERE g.id = d.guest_id
    RETURNING g.id
),
upd_reservations AS (
    UPDATE public.reservations r SET notes = NULL
    WHERE r.guest_id = ANY ((SELECT i.reserved FROM ids i)::bigint[]) AND r.notes IS NOT NULL
    RETURNING r.id
),
upd_newsletter AS (
    UPDATE public.newsletter_subscriptions n
    SET email = NULL, unsubscribed_at = coalesce(n.unsubscribed_at, now())
    WHERE n.guest_id = ANY ((SELECT i.subscribed FROM ids i)::bigint[])
    RETURNING n.guest_id
),
upd_invoices AS (
    UPDATE public.invoices i SET pdf = NULL
    WHERE i.guest_id = ANY ((SELECT x.company_gone FROM ids x)::bigint[]) AND i.pdf IS NOT NULL
    RETURNING i.id
),
protocol AS (
    INSERT INTO retention.action_protocol
        (actor, action, branch_id, guest_id, guest_type, run_id, details)
    SELECT $3, a.action, d.branch_id, d.guest_id, d.guest_type, $4,
           -- the same for every row: built once
           (SELECT coalesce($6, '{}') || jsonb_build_object('cutoff', $2,
                                                             'login', session_user::text))
    FROM due d
    CROSS JOIN LATERAL (VALUES
        ('guest_anonymized', d.anonymize),
        ('newsletter_unsubscribed', d.anonymize AND d.newsletter_active),
        ('fiscal_data_erased', d.erase_fiscal)
    ) AS a (action, applies)
    WHERE a.applies
    RETURNING action_protocol.branch_id, action_protocol.action, action_protocol.guest_type
)
SELECT p.branch_id, p.action, p.guest_type, count(*) AS guests
FROM protocol p
GROUP BY p.branch_id, p.action, p.guest_type
UNION ALL
SELECT NULL, 'guests_updated', NULL, (SELECT count(*) FROM upd_guests);
END
$$;
REVOKE ALL ON FUNCTION retention.apply_guests(bigint[], timestamptz, text, bigint, bigint[], jsonb,
                                              bigint[]) FROM PUBLIC;

-- The columns decided `anonymize` (retention.column_handling) of the guests
-- whose personal data this transaction anonymized, set to NULL. Internal.
CREATE OR REPLACE FUNCTION retention.anonymize_columns(ids bigint[]) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t record;
    gone bigint[];
BEGIN
    IF NOT EXISTS (SELECT 1 FROM retention.column_handling h WHERE h.handling = 'anonymize') THEN
        RETURN;
    END IF;
    SELECT array_agg(g.id) INTO gone FROM public.guests g
    WHERE g.id = ANY (ids) AND g.anonymized_at = now();
    IF gone IS NULL THEN
        RETURN;
    END IF;
    FOR t IN
        SELECT c.table_name,
               string_agg(pg_catalog.format('%I = NULL', c.column_name), ', ') AS sets
        FROM retention.guest_columns c
        WHERE c.handling = 'anonymize'
        GROUP BY c.table_name
    LOOP
        EXECUTE pg_catalog.format('UPDATE public.%I SET %s WHERE %I = ANY ($1)', t.table_name,
                                  t.sets, CASE WHEN t.table_name = 'guests' THEN 'id'
                                               ELSE 'guest_id' END)
            USING gone;
    END LOOP;
END
$$;
REVOKE ALL ON FUNCTION retention.anonymize_columns(bigint[]) FROM PUBLIC;

-- Locks the guests of `ids` a batch can take now (others are left for the
-- next batch), with their reservations and subscriptions. PL/pgSQL, not
-- SQL: its statement is planned once per session, not at every batch.
CREATE OR REPLACE FUNCTION retention.lock_guests(ids bigint[]) RETURNS bigint[]
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    taken bigint[];
BEGIN
    WITH locked AS MATERIALIZED (
        SELECT g.id FROM public.guests g
        WHERE g.id = ANY (ids)
        ORDER BY g.id
        FOR UPDATE SKIP LOCKED
    ),
    reservations AS MATERIALIZED (
        SELECT 1 FROM public.reservations r
        WHERE r.guest_id = ANY (ARRAY(SELECT l.id FROM locked l))
        FOR SHARE
    ),
    subscriptions AS MATERIALIZED (
        SELECT 1 FROM public.newsletter_subscriptions n
        WHERE n.guest_id = ANY (ARRAY(SELECT l.id FROM locked l))
        FOR SHARE
    )
    SELECT coalesce(array_agg(l.id ORDER BY l.id), '{}') INTO taken FROM locked l
    WHERE (SELECT count(*) FROM reservations) + (SELECT count(*) FROM subscriptions) >= 0;
    RETURN taken;
END
$$;
REVOKE ALL ON FUNCTION retention.lock_guests(bigint[]) FROM PUBLIC;

-- One batch of a run: lock, re-check, anonymize, protocol. The batch is
-- the candidates (retention.run_candidates) of the lists `plans` whose
-- guest ids are after `after` and up to `upto`, found by a range of the
-- candidates' key (sql/queries/run_next_batch.sql), not sent as ids. Every
-- candidate's branch must be a branch of this session's run `run_id` (its
-- locks are held); a batch may span several. Returns a row 'listed'
-- (candidates found) and a row 'locked' (guests taken; others are left
-- for the next run), then per branch what apply_guests did, and
-- 'guests_updated'. A batch without candidates (a run calls one with
-- after = upto before its first) locks nothing and plans the batch's
-- statements, once per session: the first batch then does not hold its
-- row locks while they are planned.
DROP FUNCTION IF EXISTS retention_api.run_batch(bigint, bigint[], timestamptz, text, bigint);
CREATE OR REPLACE FUNCTION retention_api.run_batch(
    plans bigint[], after bigint, upto bigint, cutoff timestamptz, actor text, run_id bigint
) RETURNS TABLE (branch_id bigint, action text, guest_type text, guests bigint)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_generic_plan
AS $$
#variable_conflict use_column
DECLARE
    listed bigint[];
    -- not named like a column of retention.runs: #variable_conflict
    -- use_column would read that column instead
    batch_branches bigint[];
    run_branches bigint[];
    taken bigint[];
BEGIN
    PERFORM retention.check_cutoff(cutoff);
    run_branches := retention.own_run(run_id);
    SELECT array_agg(c.guest_id), array_agg(DISTINCT c.branch_id) INTO listed, batch_branches
    FROM retention.run_candidates c
    WHERE c.plan_id = ANY (plans) AND c.guest_id > after AND c.guest_id <= upto;
    IF cardinality(listed) > 100000 THEN
        RAISE EXCEPTION 'a batch takes at most 100000 guests (batch.max_size)' USING ERRCODE = 'RT001';
    END IF;
    IF listed IS NULL THEN
        PERFORM retention.lock_guests('{}');
        PERFORM 1 FROM retention.apply_guests('{}', cutoff, actor, run_id, '{}', '{}', '{}');
        RETURN QUERY SELECT NULL::bigint, 'listed', NULL::text, 0::bigint;
        RETURN;
    END IF;
    IF NOT batch_branches <@ run_branches THEN
        RAISE EXCEPTION 'candidate lists % are not of the branches of run %', plans, run_id
            USING ERRCODE = 'RT002';
    END IF;
    RETURN QUERY SELECT NULL::bigint, 'listed', NULL::text, cardinality(listed)::bigint;
    PERFORM retention.refuse_when_paused(batch_branches);
    taken := retention.lock_guests(listed);
    RETURN QUERY SELECT NULL::bigint, 'locked', NULL::text, cardinality(taken)::bigint;
    IF cardinality(taken) > 0 THEN
        RETURN QUERY
        SELECT a.branch_id, a.action, a.guest_type, a.guests
        FROM retention.apply_guests(taken, cutoff, actor, run_id, '{}', '{}', batch_branches) a;
        PERFORM retention.anonymize_columns(taken);
    END IF;
END
$$;

---------------------------------------------------------------------------
-- Erasure requests

-- What blocks erasing a guest now, as one line (NULL: nothing).
CREATE OR REPLACE FUNCTION retention.erasure_blocker(guest bigint) RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT nullif(concat_ws('; ',
        (SELECT 'legal hold ' || string_agg(h.id::text, ', ' ORDER BY h.id)
         FROM retention.legal_holds h
         WHERE h.released_at IS NULL
           AND (h.guest_id = $1
                OR h.branch_id = (SELECT g.branch_id FROM public.guests g WHERE g.id = $1))),
        CASE WHEN u.n > 0 THEN u.n || ' unpaid invoice(s)' END,
        CASE WHEN r.n > 0 THEN r.n || ' reservation(s) to come' END), '')
    FROM (SELECT count(*) AS n FROM public.invoices i
          WHERE i.guest_id = $1 AND i.paid_at IS NULL) u,
         (SELECT count(*) AS n FROM public.reservations x
          WHERE x.guest_id = $1 AND x.cancelled_at IS NULL AND x.reserved_for > now()) r
$$;

CREATE OR REPLACE FUNCTION retention_api.erasure_request(guest bigint, reason text, actor text)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    g record;
    id bigint;
    ended bigint;
BEGIN
    IF NOT retention.has_text(reason) THEN
        RAISE EXCEPTION 'an erasure request needs a reason' USING ERRCODE = 'RT001';
    END IF;
    SELECT x.branch_id, x.anonymized_at, c.guest_type INTO g
    FROM public.guests x
    JOIN retention.guest_classification c ON c.guest_id = x.id
    WHERE x.id = guest
    FOR UPDATE OF x;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'guest % does not exist', guest USING ERRCODE = 'RT001';
    END IF;
    IF g.anonymized_at IS NOT NULL THEN
        RAISE EXCEPTION 'guest % is anonymized already', guest USING ERRCODE = 'RT003';
    END IF;
    INSERT INTO retention.erasure_requests (guest_id, branch_id, reason, requested_by, requested_at)
    VALUES (guest, g.branch_id, reason, actor, now())
    ON CONFLICT (guest_id) WHERE status = 'open' DO NOTHING
    RETURNING erasure_requests.id INTO id;
    IF id IS NULL THEN
        RETURN NULL;
    END IF;
    PERFORM retention.protocol_row(actor, 'erasure_requested', g.branch_id, guest, g.guest_type,
                                   NULL, jsonb_build_object('request_id', id, 'requested_by', actor));
    -- the guest gets no more mail from this moment on
    UPDATE public.newsletter_subscriptions n SET unsubscribed_at = now()
    WHERE n.guest_id = guest AND n.unsubscribed_at IS NULL;
    GET DIAGNOSTICS ended = ROW_COUNT;
    IF ended > 0 THEN
        PERFORM retention.protocol_row(actor, 'newsletter_unsubscribed', g.branch_id, guest,
                                       g.guest_type, NULL, jsonb_build_object('request_id', id));
    END IF;
    RETURN id;
END
$$;

-- Locks an open request.
CREATE OR REPLACE FUNCTION retention.open_request(request bigint)
RETURNS retention.erasure_requests
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r retention.erasure_requests;
BEGIN
    SELECT * INTO r FROM retention.erasure_requests e WHERE e.id = request FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'erasure request % does not exist', request USING ERRCODE = 'RT003';
    END IF;
    IF r.status <> 'open' THEN
        RAISE EXCEPTION 'erasure request % is % already', request, r.status USING ERRCODE = 'RT003';
    END IF;
    RETURN r;
END
$$;

CREATE OR REPLACE FUNCTION retention_api.erasure_withdraw(request bigint, actor text)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r retention.erasure_requests;
BEGIN
    r := retention.open_request(request);
    UPDATE retention.erasure_requests e
    SET status = 'withdrawn', decided_by = actor, decided_at = now(), reason = NULL
    WHERE e.id = request;
    PERFORM retention.protocol_row(actor, 'erasure_withdrawn', r.branch_id, r.guest_id, NULL, NULL,
        jsonb_build_object('request_id', request, 'requested_by', r.requested_by,
                           'requested_login', r.requested_login, 'reason_given', true));
END
$$;

CREATE OR REPLACE FUNCTION retention_api.erasure_reject(request bigint, reason text, actor text)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r retention.erasure_requests;
BEGIN
    IF NOT retention.has_text(reason) THEN
        RAISE EXCEPTION 'a rejection needs a reason' USING ERRCODE = 'RT001';
    END IF;
    r := retention.open_request(request);
    UPDATE retention.erasure_requests e
    SET status = 'rejected', decided_by = actor, decided_at = now(),
        decision_reason = erasure_reject.reason, reason = NULL
    WHERE e.id = request;
    PERFORM retention.protocol_row(actor, 'erasure_rejected', r.branch_id, r.guest_id, NULL, NULL,
        jsonb_build_object('request_id', request, 'requested_by', r.requested_by,
                           'rejected_by', actor, 'requested_login', r.requested_login,
                           'rejected_login', session_user::text, 'reason_given', true));
END
$$;

-- Approves: refused to the requesting login (four eyes, the trigger) and
-- while a blocker stands; anonymizes the guest now.
CREATE OR REPLACE FUNCTION retention_api.erasure_approve(request bigint, actor text)
RETURNS TABLE (guest_id bigint, fiscal_erased boolean, fiscal_kept boolean)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    r retention.erasure_requests;
    blocker text;
    erased boolean;
BEGIN
    r := retention.open_request(request);
    PERFORM retention.refuse_when_paused(ARRAY[r.branch_id]);
    -- the decision first: the trigger refuses the requesting login
    UPDATE retention.erasure_requests e
    SET status = 'approved', decided_by = actor, decided_at = now(), reason = NULL
    WHERE e.id = request;
    IF cardinality(retention.lock_guests(ARRAY[r.guest_id])) = 0 THEN
        RAISE EXCEPTION 'guest % is being changed right now (row locked); try again in a moment',
            r.guest_id USING ERRCODE = 'RT005';
    END IF;
    blocker := retention.erasure_blocker(r.guest_id);
    IF blocker IS NOT NULL THEN
        RAISE EXCEPTION 'erasure request % cannot be approved yet: %', request, blocker
            USING ERRCODE = 'RT004';
    END IF;
    SELECT coalesce(bool_or(a.action = 'fiscal_data_erased'), false) INTO erased
    FROM retention.apply_guests(ARRAY[r.guest_id], now(), actor, NULL, ARRAY[r.guest_id],
        jsonb_build_object('request_id', request, 'requested_by', r.requested_by), NULL) a;
    PERFORM retention.anonymize_columns(ARRAY[r.guest_id]);
    IF NOT EXISTS (SELECT 1 FROM public.guests g
                   WHERE g.id = r.guest_id AND g.anonymized_at IS NOT NULL) THEN
        RAISE EXCEPTION 'guest % could not be anonymized; nothing was changed', r.guest_id
            USING ERRCODE = 'RT004';
    END IF;
    PERFORM retention.protocol_row(actor, 'erasure_approved', r.branch_id, r.guest_id, NULL, NULL,
        jsonb_build_object('request_id', request, 'requested_by', r.requested_by,
                           'approved_by', actor, 'requested_login', r.requested_login,
                           'approved_login', session_user::text, 'reason_given', true));
    RETURN QUERY
    SELECT g.id, erased, retention.has_company(g.company) AND g.fiscal_erased_at IS NULL
    FROM public.guests g WHERE g.id = r.guest_id;
END
$$;

---------------------------------------------------------------------------
-- Legal holds (migration 14)

CREATE OR REPLACE FUNCTION retention_api.hold_place(
    guest bigint, branch bigint, reason text, until date, actor text
) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    id bigint;
    of_branch bigint;
BEGIN
    IF (guest IS NULL) = (branch IS NULL) THEN
        RAISE EXCEPTION 'a legal hold is for one guest or one branch' USING ERRCODE = 'RT001';
    END IF;
    IF NOT retention.has_text(reason) THEN
        RAISE EXCEPTION 'a legal hold needs a reason (the case it belongs to)'
            USING ERRCODE = 'RT001';
    END IF;
    IF until IS NOT NULL AND until < current_date THEN
        RAISE EXCEPTION 'the hold''s date % has passed already', until USING ERRCODE = 'RT001';
    END IF;
    IF guest IS NOT NULL THEN
        SELECT g.branch_id INTO of_branch FROM public.guests g WHERE g.id = guest;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'guest % does not exist', guest USING ERRCODE = 'RT001';
        END IF;
    ELSIF NOT EXISTS (SELECT 1 FROM public.branches b WHERE b.id = branch) THEN
        RAISE EXCEPTION 'branch % does not exist', branch USING ERRCODE = 'RT001';
    END IF;
    INSERT INTO retention.legal_holds (guest_id, branch_id, reason, until, placed_by)
    VALUES (guest, branch, reason, until, actor)
    RETURNING legal_holds.id INTO id;
    PERFORM retention.protocol_row(actor, 'hold_placed', coalesce(branch, of_branch), guest,
        NULL, NULL, jsonb_build_object('hold_id', id, 'until', until, 'reason_given', true));
    RETURN id;
END
$$;

CREATE OR REPLACE FUNCTION retention_api.hold_release(hold bigint, actor text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    h retention.legal_holds;
BEGIN
    SELECT * INTO h FROM retention.legal_holds x WHERE x.id = hold FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'legal hold % does not exist', hold USING ERRCODE = 'RT003';
    END IF;
    IF h.released_at IS NOT NULL THEN
        RAISE EXCEPTION 'legal hold % is released already', hold USING ERRCODE = 'RT003';
    END IF;
    UPDATE retention.legal_holds x
    SET released_at = now(), released_by = actor, released_login = session_user
    WHERE x.id = hold;
    PERFORM retention.protocol_row(actor, 'hold_released',
        coalesce(h.branch_id, (SELECT g.branch_id FROM public.guests g WHERE g.id = h.guest_id)),
        h.guest_id, NULL, NULL,
        jsonb_build_object('hold_id', hold, 'placed_by', h.placed_by,
                           'placed_login', h.placed_login));
END
$$;

---------------------------------------------------------------------------
-- Pauses (migration 15)

-- Refuses deleting work while a pause is in force over one of `branches`
-- (its own or the global one); RT006 names the pause.
CREATE OR REPLACE FUNCTION retention.refuse_when_paused(branches bigint[]) RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p retention.pauses;
BEGIN
    SELECT * INTO p FROM retention.pauses x
    WHERE x.ended_at IS NULL AND x.until > now()
      AND (x.branch_id IS NULL OR x.branch_id = ANY (branches))
    ORDER BY x.until DESC
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'deleting is paused (pause %, %) until %; `retentiond resume%` ends it earlier',
            p.id, coalesce('branch ' || p.branch_id, 'every branch'), p.until,
            coalesce(' --branch ' || p.branch_id, '')
            USING ERRCODE = 'RT006';
    END IF;
END
$$;

-- Pauses that reached their time end by themselves, each with a
-- pause_ended row; any caller may record what is true.
CREATE OR REPLACE FUNCTION retention_api.end_pauses(actor text) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n bigint;
BEGIN
    WITH ended AS (
        UPDATE retention.pauses p
        SET ended_at = p.until, ended_by = actor, ended_how = 'expired'
        WHERE p.ended_at IS NULL AND p.until <= now()
        RETURNING p.id, p.branch_id, p.until
    )
    SELECT count(*) INTO n
    FROM ended e,
         LATERAL retention.protocol_row(actor, 'pause_ended', e.branch_id, NULL, NULL, NULL,
             jsonb_build_object('pause_id', e.id, 'until', e.until, 'how', 'expired')) r;
    RETURN n;
END
$$;

CREATE OR REPLACE FUNCTION retention_api.pause(
    branch bigint, reason text, until timestamptz, actor text
) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    id bigint;
BEGIN
    IF NOT retention.has_text(reason) THEN
        RAISE EXCEPTION 'a pause needs a reason' USING ERRCODE = 'RT001';
    END IF;
    IF until IS NULL OR until <= now() OR until > now() + interval '30 days' THEN
        RAISE EXCEPTION 'a pause ends within 30 days from now, not at %', until
            USING ERRCODE = 'RT001';
    END IF;
    IF branch IS NOT NULL AND NOT EXISTS (SELECT 1 FROM public.branches b WHERE b.id = branch) THEN
        RAISE EXCEPTION 'branch % does not exist', branch USING ERRCODE = 'RT001';
    END IF;
    PERFORM retention_api.end_pauses(actor);
    INSERT INTO retention.pauses (branch_id, reason, until, paused_by)
    VALUES (branch, reason, until, actor)
    RETURNING pauses.id INTO id;
    PERFORM retention.protocol_row(actor, 'paused', branch, NULL, NULL, NULL,
        jsonb_build_object('pause_id', id, 'until', until, 'reason_given', true));
    RETURN id;
END
$$;

CREATE OR REPLACE FUNCTION retention_api.resume(branch bigint, actor text) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n bigint;
BEGIN
    PERFORM retention_api.end_pauses(actor);
    WITH ended AS (
        UPDATE retention.pauses p
        SET ended_at = now(), ended_by = actor, ended_how = 'resumed'
        WHERE p.ended_at IS NULL AND p.branch_id IS NOT DISTINCT FROM branch
        RETURNING p.id, p.branch_id, p.until
    )
    SELECT count(*) INTO n
    FROM ended e,
         LATERAL retention.protocol_row(actor, 'resumed', e.branch_id, NULL, NULL, NULL,
             jsonb_build_object('pause_id', e.id, 'until', e.until, 'how', 'resumed')) r;
    RETURN n;
END
$$;

---------------------------------------------------------------------------
-- Columns (migration 17, columns.sql)

CREATE OR REPLACE FUNCTION retention_api.column_set(
    table_name text, column_name text, handling text, actor text
) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    c retention.guest_columns;
    before text;
BEGIN
    SELECT * INTO c FROM retention.guest_columns g
    WHERE g.table_name = column_set.table_name AND g.column_name = column_set.column_name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'public.%.% is not a column of the guest data (guests, reservations, '
                        'newsletter_subscriptions, invoices, customer_cards)',
                        column_set.table_name, column_set.column_name
            USING ERRCODE = 'RT001';
    END IF;
    IF c.handling = 'built_in' THEN
        RAISE EXCEPTION '%.% is built into the rules and cannot be decided otherwise',
                        c.table_name, c.column_name USING ERRCODE = 'RT001';
    END IF;
    IF column_set.handling NOT IN ('anonymize', 'keep') THEN
        RAISE EXCEPTION 'a column is anonymized or kept, not %', column_set.handling
            USING ERRCODE = 'RT001';
    END IF;
    IF column_set.handling = 'anonymize' AND NOT c.nullable THEN
        RAISE EXCEPTION '%.% is NOT NULL: it cannot be anonymized to NULL (keep it, or have the '
                        'POS allow NULL)', c.table_name, c.column_name USING ERRCODE = 'RT001';
    END IF;
    IF column_set.handling = 'anonymize'
       AND NOT has_column_privilege(current_user, pg_catalog.format('public.%I', c.table_name),
                                    c.column_name, 'UPDATE') THEN
        RAISE EXCEPTION 'the owner role % may not update %.%: have the table''s owner run % first',
                        current_user, c.table_name, c.column_name,
                        pg_catalog.format('GRANT UPDATE (%I) ON public.%I TO %I', c.column_name,
                                          c.table_name, current_user)
            USING ERRCODE = 'RT001';
    END IF;
    before := c.handling;
    INSERT INTO retention.column_handling (table_name, column_name, handling, decided_by)
    VALUES (column_set.table_name, column_set.column_name, column_set.handling, actor)
    ON CONFLICT ON CONSTRAINT column_handling_pkey DO UPDATE
    SET handling = excluded.handling, decided_by = excluded.decided_by,
        decided_login = session_user, decided_at = now();
    PERFORM retention.protocol_row(actor, 'column_decided', NULL, NULL, NULL, NULL,
        jsonb_build_object('table', c.table_name, 'column', c.column_name,
                           'old', before, 'new', column_set.handling));
    RETURN before;
END
$$;

---------------------------------------------------------------------------
-- Policies and branch settings

CREATE OR REPLACE FUNCTION retention_api.policy_set(
    branch bigint, guest_type text, period text, actor text
) RETURNS TABLE (old text, changed boolean)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    before interval;
    wanted interval := period::interval;
BEGIN
    IF wanted < interval '1 day' OR wanted > interval '100 years' OR wanted::text LIKE '%-%' THEN
        RAISE EXCEPTION 'a period is at least a day, at most a century and has no negative '
                        'part, not %', period
            USING ERRCODE = 'RT001';
    END IF;
    SELECT p.period INTO before FROM retention.policies p
    WHERE p.branch_id = branch AND p.guest_type = policy_set.guest_type
    FOR UPDATE;
    IF before IS NOT DISTINCT FROM wanted AND before::text = wanted::text THEN
        RETURN QUERY SELECT before::text, false;
        RETURN;
    END IF;
    INSERT INTO retention.policies (branch_id, guest_type, period, updated_by)
    VALUES (branch, policy_set.guest_type, wanted, actor)
    ON CONFLICT (branch_id, guest_type)
    DO UPDATE SET period = excluded.period, updated_at = now(), updated_by = excluded.updated_by;
    PERFORM retention.protocol_row(actor, 'policy_changed', branch, NULL, policy_set.guest_type,
        NULL, jsonb_build_object('old', before::text, 'new', wanted::text));
    RETURN QUERY SELECT before::text, true;
END
$$;

CREATE OR REPLACE FUNCTION retention_api.policy_unset(branch bigint, guest_type text, actor text)
RETURNS text
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    before text;
BEGIN
    DELETE FROM retention.policies p
    WHERE p.branch_id = branch AND p.guest_type = policy_unset.guest_type
    RETURNING p.period::text INTO before;
    IF before IS NOT NULL THEN
        PERFORM retention.protocol_row(actor, 'policy_changed', branch, NULL,
            policy_unset.guest_type, NULL, jsonb_build_object('old', before, 'new', NULL));
    END IF;
    RETURN before;
END
$$;

-- A branch's settings row, created when missing, locked until the caller's
-- transaction ends.
CREATE OR REPLACE FUNCTION retention_api.branch_settings_lock(branch bigint, actor text)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    INSERT INTO retention.branch_settings (branch_id, updated_by) VALUES (branch, actor)
    ON CONFLICT (branch_id) DO NOTHING;
    PERFORM 1 FROM retention.branch_settings s WHERE s.branch_id = branch FOR UPDATE;
END
$$;

CREATE OR REPLACE FUNCTION retention_api.branch_settings_store(
    branch bigint, auto_delete boolean, notify_addresses text[], notify_pending boolean,
    notify_completed boolean, locale text, actor text, changes jsonb
) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    IF EXISTS (SELECT 1 FROM unnest(notify_addresses) AS a (address)
               WHERE a.address IS NULL OR a.address !~ '@' OR a.address ~ '[[:cntrl:]]') THEN
        RAISE EXCEPTION 'a notification address is not a mailbox' USING ERRCODE = 'RT001';
    END IF;
    UPDATE retention.branch_settings s
    SET auto_delete = branch_settings_store.auto_delete,
        notify_addresses = branch_settings_store.notify_addresses,
        notify_pending = branch_settings_store.notify_pending,
        notify_completed = branch_settings_store.notify_completed,
        locale = branch_settings_store.locale, updated_at = now(), updated_by = actor
    WHERE s.branch_id = branch;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'branch % has no settings row: lock it first', branch
            USING ERRCODE = 'RT002';
    END IF;
    PERFORM retention.protocol_row(actor, 'settings_changed', branch, NULL, NULL, NULL, changes);
END
$$;

---------------------------------------------------------------------------
-- Mail

-- A summary mail for a branch's configured recipients, once per purpose.
CREATE OR REPLACE FUNCTION retention_api.outbox_enqueue(
    kind text, dedupe_key text, branch bigint, run_id bigint, locale text, recipients text[],
    message_id text, subject text, body_text text, body_html text, created_at timestamptz
) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    id bigint;
BEGIN
    IF kind NOT IN ('pending_summary', 'completed_summary') THEN
        RAISE EXCEPTION 'the outbox takes summaries only, not %', kind USING ERRCODE = 'RT001';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM retention.branch_settings s
                   WHERE s.branch_id = branch AND cardinality(recipients) > 0
                     AND recipients <@ s.notify_addresses) THEN
        RAISE EXCEPTION 'the outbox takes only the configured recipients of branch %', branch
            USING ERRCODE = 'RT001';
    END IF;
    INSERT INTO retention.mail_outbox
        (kind, dedupe_key, branch_id, run_id, locale, recipients, message_id, subject,
         body_text, body_html, created_at, next_attempt_at)
    VALUES (kind, dedupe_key, branch, run_id, locale, recipients, message_id, subject,
            body_text, body_html, created_at, created_at)
    ON CONFLICT ON CONSTRAINT mail_outbox_dedupe_key_key DO NOTHING
    RETURNING mail_outbox.id INTO id;
    RETURN id;
END
$$;

-- The next mail to deliver, locked until the caller's transaction ends, so
-- that two senders never deliver the same mail.
CREATE OR REPLACE FUNCTION retention_api.outbox_next(
    at timestamptz, ignore_backoff boolean, only_ids bigint[], tried bigint[]
) RETURNS TABLE (id bigint, kind text, branch_id bigint, recipients text[], message_id text,
                 subject text, body_text text, body_html text, attempts int)
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT o.id, o.kind, o.branch_id, o.recipients, o.message_id, o.subject, o.body_text,
           o.body_html, o.attempts
    FROM retention.mail_outbox o
    WHERE o.sent_at IS NULL AND o.failed_at IS NULL
      AND ($2 OR o.next_attempt_at <= $1)
      AND ($3 IS NULL OR o.id = ANY ($3))
      AND NOT (o.id = ANY ($4))
    ORDER BY o.id
    LIMIT 1
    FOR UPDATE SKIP LOCKED
$$;

CREATE OR REPLACE FUNCTION retention_api.outbox_mark(
    id bigint, outcome text, at timestamptz, attempts int, message text
) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    UPDATE retention.mail_outbox o
    SET sent_at = CASE WHEN outcome = 'sent' THEN at END,
        failed_at = CASE WHEN outcome = 'failed' THEN at END,
        next_attempt_at = CASE WHEN outcome = 'retry' THEN at ELSE o.next_attempt_at END,
        attempts = outbox_mark.attempts,
        server_response = CASE WHEN outcome = 'sent' THEN message ELSE o.server_response END,
        last_error = CASE WHEN outcome = 'sent' THEN NULL ELSE message END
    WHERE o.id = outbox_mark.id AND o.sent_at IS NULL AND o.failed_at IS NULL;
END
$$;

CREATE OR REPLACE FUNCTION retention_api.pending_snapshot_claim(
    branch bigint, local_date date, taken_at timestamptz, overdue bigint, due_soon bigint
) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    n bigint;
BEGIN
    IF local_date NOT BETWEEN current_date - 1 AND current_date + 1
       AND NOT retention.by_superuser() THEN
        RAISE EXCEPTION 'a pending summary is claimed for its own day, not %', local_date
            USING ERRCODE = 'RT001';
    END IF;
    INSERT INTO retention.pending_snapshots (branch_id, local_date, taken_at, overdue, due_soon)
    VALUES (branch, local_date, taken_at, overdue, due_soon)
    ON CONFLICT DO NOTHING;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;

CREATE OR REPLACE FUNCTION retention_api.pending_snapshot_set_outbox(
    branch bigint, local_date date, outbox bigint
) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    UPDATE retention.pending_snapshots s SET outbox_id = outbox
    WHERE s.branch_id = branch AND s.local_date = pending_snapshot_set_outbox.local_date
      AND s.outbox_id IS NULL;
END
$$;

---------------------------------------------------------------------------
-- Grants

-- Gives a login what retentiond's daemon and commands need: the API, and
-- reading where a command reads; no INSERT, UPDATE, DELETE or TRUNCATE on
-- any table. Run by the owner (`retentiond grant`); never by a login.
CREATE OR REPLACE FUNCTION retention.grant_runtime(role_name text) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    EXECUTE pg_catalog.format('GRANT USAGE ON SCHEMA public, retention, retention_api TO %I',
                              role_name);
    EXECUTE pg_catalog.format('REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER
                               ON ALL TABLES IN SCHEMA retention FROM %I', role_name);
    EXECUTE pg_catalog.format('GRANT SELECT ON public.branches, public.guests, public.sales,
                    public.reservations, public.newsletter_subscriptions, public.invoices,
                    public.customer_cards TO %I', role_name);
    EXECUTE pg_catalog.format('GRANT SELECT ON retention.action_protocol,
                    retention.protocol_seals, retention.protocol_seal_head,
                    retention.schema_migrations, retention.schema_rules,
                    retention.effective_policies, retention.guest_classification,
                    retention.guest_classification_scan, retention.guest_periods,
                    retention.guest_periods_by_key,
                    retention.runs, retention.mail_outbox, retention.pending_snapshots,
                    retention.branch_settings, retention.erasure_requests, retention.policies,
                    retention.run_candidates, retention.legal_holds, retention.holds_in_force,
                    retention.pauses, retention.column_handling, retention.guest_columns,
                    retention.granted_logins TO %I', role_name);
    EXECUTE pg_catalog.format('GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA retention_api TO %I',
                              role_name);
    -- plan ids for a run's candidate lists
    EXECUTE pg_catalog.format('GRANT USAGE ON SEQUENCE retention.run_plan_ids TO %I', role_name);
    INSERT INTO retention.granted_logins (login) VALUES (role_name)
    ON CONFLICT (login) DO UPDATE SET granted_at = now(), granted_by = session_user;
END
$$;
REVOKE ALL ON FUNCTION retention.grant_runtime(text) FROM PUBLIC;

-- Only granted logins run the API.
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA retention_api FROM PUBLIC;
SELECT retention.grant_runtime(g.login) FROM retention.granted_logins g
WHERE EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = g.login);

-- Hands every object of retention and retention_api to the owner role. Run
-- by `migrate` while the schema is not the owner role's yet (afterwards
-- migrate runs as the owner role and grants it the guest tables' privileges
-- in plain statements: src/db/migrate.rs).
CREATE OR REPLACE FUNCTION retention.hand_over(owner text) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    o record;
    owner_oid oid := (SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname = owner);
BEGIN
    IF owner_oid IS NULL THEN
        RAISE EXCEPTION 'the owner role % does not exist', owner USING ERRCODE = 'RT001';
    END IF;
    FOR o IN
        SELECT n.nspname FROM pg_catalog.pg_namespace n
        WHERE n.nspname IN ('retention', 'retention_api')
          AND n.nspowner <> owner_oid
    LOOP
        EXECUTE pg_catalog.format('ALTER SCHEMA %I OWNER TO %I', o.nspname, owner);
    END LOOP;
    FOR o IN
        SELECT c.oid::regclass AS name,
               CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                              WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END AS kind
        FROM pg_catalog.pg_class c
        JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname IN ('retention', 'retention_api')
          AND c.relkind IN ('r', 'v', 'm', 'p', 'S')
          AND c.relowner <> owner_oid
          AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                          WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid
                            AND d.deptype IN ('a', 'i') AND c.relkind = 'S')
    LOOP
        EXECUTE pg_catalog.format('ALTER %s %s OWNER TO %I', o.kind, o.name, owner);
    END LOOP;
    FOR o IN
        SELECT p.oid::regprocedure AS name
        FROM pg_catalog.pg_proc p
        JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname IN ('retention', 'retention_api') AND p.proowner <> owner_oid
    LOOP
        EXECUTE pg_catalog.format('ALTER FUNCTION %s OWNER TO %I', o.name, owner);
    END LOOP;
END
$$;
REVOKE ALL ON FUNCTION retention.hand_over(text) FROM PUBLIC;
