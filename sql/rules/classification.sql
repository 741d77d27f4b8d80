-- Classification: every guest's type, last activity, deadlines and blocker
-- (a legal hold, retention.holds_in_force, or an unpaid invoice)
-- (the functions of guest_rules.sql) over its facts, gathered in one of three
-- ways with the same columns:
--
-- - retention.guest_classification, the index path: every fact a LATERAL
--   index lookup by guest id, the periods and the branch's time zone looked
--   up in one value and the legal holds read, each once per statement
--   (the same plan for a batch of one guest or of thousands); right for
--   `classify` and a batch's
--   `guest_id = ANY ($1)`. As a view it is inlined: a caller's WHERE on
--   guest_id, branch_id or anonymized_at reaches the guests scan.
-- - retention.guest_classification_between(lo, hi), the range path: the
--   index path for the guests with ids from lo to hi, every fact one index
--   range scan per table; right for a batch whose guests lie close
--   together (below).
-- - retention.guest_classification_scan, the scan path: the facts as
--   GROUP BY guest_id aggregates joined by hash, one pass over sales,
--   reservations and invoices whatever the number of branches; for run
--   candidates and the pending report. Branches whose time zone PostgreSQL
--   does not accept are left out (checked once per branch and statement).
--
-- After the facts all three are the same: the rules of guest_rules.sql and
-- the periods in force (retention.guest_periods, below). The last three
-- columns say whether the guest has reservations, a newsletter
-- subscription, invoices: the rows anonymizing it changes besides its own,
-- so that a batch looks up only those (known from the facts already read).

-- The periods in force for a branch's guests whose personal data follows
-- the period of personal_period_type: that period and the company guest
-- period (for the fiscal deadline), each with whether it is inherited
-- (effective_policies.sql). A guest finds its row by branch and personal
-- period type; no row, or a NULL, where none is configured. A few rows per
-- branch, joined by hash.
CREATE OR REPLACE VIEW retention.guest_periods AS
SELECT b.id AS branch_id, t.personal_period_type,
       pp.period AS personal_period, pp.inherited AS personal_period_inherited,
       fp.period AS fiscal_period, fp.inherited AS fiscal_period_inherited
FROM public.branches b
-- the values of retention.personal_period_type
CROSS JOIN (VALUES ('regular_guest'), ('guest'), ('newsletter_subscriber'),
                   ('guest_without_sale')) AS t (personal_period_type)
LEFT JOIN retention.effective_policies pp
       ON pp.branch_id = b.id AND pp.guest_type = t.personal_period_type
LEFT JOIN retention.effective_policies fp
       ON fp.branch_id = b.id AND fp.guest_type = 'company_guest';

-- The same periods as one value, computed once per statement: an object
-- keyed 'branch/personal period type' whose entries are [personal period,
-- inherited, fiscal period, inherited, the branch's time zone]. The index
-- path reads it (retention.periods_in_force, below) through an uncorrelated
-- sub-select (an InitPlan): a batch of guests then costs one read of the
-- periods and a key lookup per guest, however many branches there are,
-- where a join to guest_periods was planned per guest (a nested loop over
-- every branch's periods; 0.7 ms a guest at 100 branches, measured).
CREATE OR REPLACE VIEW retention.guest_periods_by_key AS
WITH effective AS MATERIALIZED ( -- once, not once for each of the two joins below
    SELECT e.branch_id, e.guest_type, e.period, e.inherited
    FROM retention.effective_policies e
)
SELECT coalesce(jsonb_object_agg(b.id::text || '/' || t.personal_period_type,
                                 jsonb_build_array(pp.period, pp.inherited,
                                                   fp.period, fp.inherited, b.time_zone)),
                '{}') AS periods
FROM public.branches b
-- the values of retention.personal_period_type, as in guest_periods
CROSS JOIN (VALUES ('regular_guest'), ('guest'), ('newsletter_subscriber'),
                   ('guest_without_sale')) AS t (personal_period_type)
LEFT JOIN effective pp ON pp.branch_id = b.id AND pp.guest_type = t.personal_period_type
LEFT JOIN effective fp ON fp.branch_id = b.id AND fp.guest_type = 'company_guest';

-- The inputs of guest_periods_by_key as text: the rules that compute it
-- (the checksums of their files), every branch's parent and time zone,
-- every configured period as PostgreSQL prints it. Text, not values:
-- '1 mon' and '30 days' are equal intervals but not the same period.
-- PL/pgSQL here and below: a session plans their statements once, where an
-- SQL function's were planned on every call (1.5 ms, measured).
CREATE OR REPLACE FUNCTION retention.periods_inputs() RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN concat(
        (SELECT string_agg(r.name || ':' || r.checksum, ',' ORDER BY r.name)
         FROM retention.schema_rules r
         WHERE r.name IN ('effective_policies', 'classification')),
        '|',
        (SELECT string_agg(concat_ws(',', b.id, b.parent_id, quote_literal(b.time_zone)), ';'
                           ORDER BY b.id)
         FROM public.branches b),
        '|',
        (SELECT string_agg(concat_ws(',', p.branch_id, p.guest_type, p.period), ';'
                           ORDER BY p.branch_id, p.guest_type)
         FROM retention.policies p));
END
$$;
REVOKE ALL ON FUNCTION retention.periods_inputs() FROM PUBLIC;

-- guest_periods_by_key, read from retention.periods_cache when that was
-- computed from the inputs in force now, else computed. STABLE: it reads
-- in its caller's snapshot, so the inputs compared are those the periods
-- returned follow. `|| '{}'` returns the cached value unpacked: a value
-- read from the table stays compressed, and each guest's lookup would
-- unpack it again (a batch at 100 branches took longer than computing the
-- periods, measured).
CREATE OR REPLACE FUNCTION retention.periods_in_force() RETURNS jsonb
LANGUAGE plpgsql STABLE PARALLEL SAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN coalesce((SELECT c.periods || '{}'::jsonb FROM retention.periods_cache c
                     WHERE c.inputs = retention.periods_inputs()),
                    (SELECT k.periods FROM retention.guest_periods_by_key k));
END
$$;

-- Computes guest_periods_by_key into retention.periods_cache when the cached
-- value follows other inputs (in one statement: the inputs stored are those
-- the periods stored follow). A cache another transaction is writing is
-- left to it, never waited for. Called where a run lists its candidates
-- (a period changed during a run is computed by each batch until the next
-- listing); internal.
CREATE OR REPLACE FUNCTION retention.periods_cache_refresh() RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM retention.periods_cache c
               WHERE c.inputs = retention.periods_inputs()) THEN
        RETURN;
    END IF;
    UPDATE retention.periods_cache c SET inputs = n.inputs, periods = n.periods
    FROM (SELECT retention.periods_inputs() AS inputs, k.periods
          FROM retention.guest_periods_by_key k) n
    WHERE c.only_row IN (SELECT x.only_row FROM retention.periods_cache x
                         FOR UPDATE SKIP LOCKED);
END
$$;
REVOKE ALL ON FUNCTION retention.periods_cache_refresh() FROM PUBLIC;
-- rules applied anew may compute the periods differently from the same
-- inputs; and the one row is there whatever a restore left
INSERT INTO retention.periods_cache (inputs, periods) VALUES ('', '{}')
ON CONFLICT (only_row) DO UPDATE SET inputs = '', periods = '{}';

-- The index path: every fact a LATERAL lookup by guest id.
CREATE OR REPLACE VIEW retention.guest_classification (
    guest_id, branch_id, time_zone, guest_type, verified, has_company, created_at,
    profile_updated_at, last_sale_at, last_booked_at, subscribed_at, newsletter_active,
    last_activity, latest_reservation_for, last_invoice_at, unpaid_invoices,
    personal_period_type, personal_period, personal_period_inherited, personal_deadline,
    fiscal_period, fiscal_period_inherited, fiscal_deadline, blocked_reason, anonymized_at,
    fiscal_erased_at, has_reservations, has_subscription, has_invoices
) AS
SELECT g.id, g.branch_id, p.time_zone, t.guest_type, g.verified,
       retention.has_company(g.company), g.created_at, g.profile_updated_at,
       s.last_sale_at, r.last_booked_at, ns.subscribed_at, coalesce(ns.active, false),
       t.last_activity,
       r.latest_reservation_for, i.last_invoice_at, i.unpaid, t.personal_period_type,
       p.personal_period, p.personal_period_inherited, pd.personal_deadline, p.fiscal_period,
       p.fiscal_period_inherited,
       retention.fiscal_deadline(t.guest_type, s.last_sale_at, i.last_invoice_at, p.fiscal_period,
                                 p.personal_period, p.time_zone, pd.personal_deadline),
       -- the holds as uncorrelated sub-selects (InitPlans): read once per
       -- statement, whatever plan a batch gets
       retention.blocked_reason(i.unpaid,
                                g.id = ANY ((SELECT hf.guests
                                             FROM retention.holds_in_force hf)::bigint[])
                                OR g.branch_id = ANY ((SELECT hf.branches
                                                       FROM retention.holds_in_force hf)::bigint[])),
       g.anonymized_at, g.fiscal_erased_at, r.n > 0, ns.guest_id IS NOT NULL, i.n > 0
FROM public.guests g
CROSS JOIN LATERAL (
    SELECT max(x.sold_at) AS last_sale_at FROM public.sales x WHERE x.guest_id = g.id
) s
CROSS JOIN LATERAL (
    SELECT max(x.created_at) AS last_booked_at,
           max(x.reserved_for) FILTER (WHERE x.cancelled_at IS NULL) AS latest_reservation_for,
           count(*) AS n
    FROM public.reservations x WHERE x.guest_id = g.id
) r
CROSS JOIN LATERAL (
    SELECT max(x.issued_at) AS last_invoice_at, count(*) FILTER (WHERE x.paid_at IS NULL) AS unpaid,
           count(*) AS n
    FROM public.invoices x WHERE x.guest_id = g.id
) i
LEFT JOIN LATERAL (
    -- at most one row (guest_id is the key); the LIMIT keeps it a lookup
    SELECT x.guest_id, x.subscribed_at, x.unsubscribed_at IS NULL AS active
    FROM public.newsletter_subscriptions x WHERE x.guest_id = g.id
    LIMIT 1
) ns ON true
CROSS JOIN LATERAL (
    SELECT retention.guest_type(s.last_sale_at IS NOT NULL, g.company, g.verified,
                                coalesce(ns.active, false)) AS guest_type,
           retention.personal_period_type(s.last_sale_at IS NOT NULL, g.verified,
                                          coalesce(ns.active, false)) AS personal_period_type,
           retention.last_activity(g.created_at, g.profile_updated_at, s.last_sale_at,
                                   r.last_booked_at, ns.subscribed_at) AS last_activity
) t
CROSS JOIN LATERAL (
    SELECT (SELECT retention.periods_in_force())
               -> (g.branch_id::text || '/' || t.personal_period_type) AS e
    OFFSET 0 -- one sub-select, not a copy of it for each column below
) pe
CROSS JOIN LATERAL (
    SELECT (pe.e ->> 0)::interval AS personal_period,
           (pe.e ->> 1)::boolean AS personal_period_inherited,
           (pe.e ->> 2)::interval AS fiscal_period,
           (pe.e ->> 3)::boolean AS fiscal_period_inherited,
           pe.e ->> 4 AS time_zone
) p
CROSS JOIN LATERAL (
    SELECT retention.personal_deadline(t.last_activity, p.personal_period, p.time_zone,
                                       r.latest_reservation_for) AS personal_deadline
) pd;

-- The range path: the index path's columns and rules for the guests with
-- ids from lo to hi, every fact read by one index range scan per table over
-- those ids and aggregated in key order. For a batch whose guests lie close
-- together (a backlog's): a range scan costs a fraction of a lookup per
-- guest, but reads every guest of the range, due or not. SQL, so that the
-- planner inlines it and a caller's WHERE on guest_id reaches the guests
-- scan; $1 and $2, not the names, in its body: a column the POS adds to a
-- table named like a parameter would take the parameter's place.
CREATE OR REPLACE FUNCTION retention.guest_classification_between(lo bigint, hi bigint)
RETURNS SETOF retention.guest_classification
LANGUAGE sql STABLE
BEGIN ATOMIC
SELECT g.id, g.branch_id, p.time_zone, t.guest_type, g.verified,
       retention.has_company(g.company), g.created_at, g.profile_updated_at,
       s.last_sale_at, r.last_booked_at, ns.subscribed_at, coalesce(ns.active, false),
       t.last_activity,
       r.latest_reservation_for, i.last_invoice_at, coalesce(i.unpaid, 0), t.personal_period_type,
       p.personal_period, p.personal_period_inherited, pd.personal_deadline, p.fiscal_period,
       p.fiscal_period_inherited,
       retention.fiscal_deadline(t.guest_type, s.last_sale_at, i.last_invoice_at, p.fiscal_period,
                                 p.personal_period, p.time_zone, pd.personal_deadline),
       retention.blocked_reason(coalesce(i.unpaid, 0),
                                g.id = ANY ((SELECT hf.guests
                                             FROM retention.holds_in_force hf)::bigint[])
                                OR g.branch_id = ANY ((SELECT hf.branches
                                                       FROM retention.holds_in_force hf)::bigint[])),
       g.anonymized_at, g.fiscal_erased_at, r.guest_id IS NOT NULL, ns.guest_id IS NOT NULL,
       i.guest_id IS NOT NULL
FROM public.guests g
LEFT JOIN (
    SELECT x.guest_id, max(x.sold_at) AS last_sale_at
    FROM public.sales x WHERE x.guest_id BETWEEN $1 AND $2 GROUP BY x.guest_id
) s ON s.guest_id = g.id
LEFT JOIN (
    SELECT x.guest_id, max(x.created_at) AS last_booked_at,
           max(x.reserved_for) FILTER (WHERE x.cancelled_at IS NULL) AS latest_reservation_for
    FROM public.reservations x WHERE x.guest_id BETWEEN $1 AND $2 GROUP BY x.guest_id
) r ON r.guest_id = g.id
LEFT JOIN (
    SELECT x.guest_id, max(x.issued_at) AS last_invoice_at,
           count(*) FILTER (WHERE x.paid_at IS NULL) AS unpaid
    FROM public.invoices x WHERE x.guest_id BETWEEN $1 AND $2 GROUP BY x.guest_id
) i ON i.guest_id = g.id
LEFT JOIN (
    SELECT x.guest_id, x.subscribed_at, x.unsubscribed_at IS NULL AS active
    FROM public.newsletter_subscriptions x WHERE x.guest_id BETWEEN $1 AND $2
) ns ON ns.guest_id = g.id
CROSS JOIN LATERAL (
    SELECT retention.guest_type(s.last_sale_at IS NOT NULL, g.company, g.verified,
                                coalesce(ns.active, false)) AS guest_type,
           retention.personal_period_type(s.last_sale_at IS NOT NULL, g.verified,
                                          coalesce(ns.active, false)) AS personal_period_type,
           retention.last_activity(g.created_at, g.profile_updated_at, s.last_sale_at,
                                   r.last_booked_at, ns.subscribed_at) AS last_activity
) t
CROSS JOIN LATERAL (
    SELECT (SELECT retention.periods_in_force())
               -> (g.branch_id::text || '/' || t.personal_period_type) AS e
    OFFSET 0 -- one sub-select, not a copy of it for each column below
) pe
CROSS JOIN LATERAL (
    SELECT (pe.e ->> 0)::interval AS personal_period,
           (pe.e ->> 1)::boolean AS personal_period_inherited,
           (pe.e ->> 2)::interval AS fiscal_period,
           (pe.e ->> 3)::boolean AS fiscal_period_inherited,
           pe.e ->> 4 AS time_zone
) p
CROSS JOIN LATERAL (
    SELECT retention.personal_deadline(t.last_activity, p.personal_period, p.time_zone,
                                       r.latest_reservation_for) AS personal_deadline
) pd
WHERE g.id BETWEEN $1 AND $2;
END;

-- The scan path: the same columns and rules, every fact a hash aggregate.
CREATE OR REPLACE VIEW retention.guest_classification_scan AS
WITH zoned AS MATERIALIZED (
    SELECT b.id, b.time_zone FROM public.branches b
    WHERE retention.valid_time_zone(b.time_zone)
)
SELECT g.id AS guest_id, g.branch_id, b.time_zone, t.guest_type, g.verified,
       retention.has_company(g.company) AS has_company, g.created_at, g.profile_updated_at,
       s.last_sale_at, r.last_booked_at, ns.subscribed_at,
       coalesce(ns.active, false) AS newsletter_active, t.last_activity,
       r.latest_reservation_for, i.last_invoice_at,
       coalesce(i.unpaid, 0) AS unpaid_invoices, t.personal_period_type,
       p.personal_period, p.personal_period_inherited, pd.personal_deadline,
       p.fiscal_period, p.fiscal_period_inherited,
       retention.fiscal_deadline(t.guest_type, s.last_sale_at, i.last_invoice_at, p.fiscal_period,
                                 p.personal_period, b.time_zone, pd.personal_deadline)
           AS fiscal_deadline,
       retention.blocked_reason(coalesce(i.unpaid, 0),
                                g.id = ANY (hf.guests) OR g.branch_id = ANY (hf.branches))
           AS blocked_reason,
       g.anonymized_at, g.fiscal_erased_at, r.guest_id IS NOT NULL AS has_reservations,
       ns.guest_id IS NOT NULL AS has_subscription, i.guest_id IS NOT NULL AS has_invoices
FROM public.guests g
JOIN zoned b ON b.id = g.branch_id
CROSS JOIN retention.holds_in_force hf
LEFT JOIN (
    SELECT x.guest_id, max(x.sold_at) AS last_sale_at
    FROM public.sales x WHERE x.guest_id IS NOT NULL GROUP BY x.guest_id
) s ON s.guest_id = g.id
LEFT JOIN (
    SELECT x.guest_id, max(x.created_at) AS last_booked_at,
           max(x.reserved_for) FILTER (WHERE x.cancelled_at IS NULL) AS latest_reservation_for
    FROM public.reservations x GROUP BY x.guest_id
) r ON r.guest_id = g.id
LEFT JOIN (
    SELECT x.guest_id, max(x.issued_at) AS last_invoice_at,
           count(*) FILTER (WHERE x.paid_at IS NULL) AS unpaid
    FROM public.invoices x GROUP BY x.guest_id
) i ON i.guest_id = g.id
LEFT JOIN (
    SELECT x.guest_id, x.subscribed_at, x.unsubscribed_at IS NULL AS active
    FROM public.newsletter_subscriptions x
) ns ON ns.guest_id = g.id
CROSS JOIN LATERAL (
    SELECT retention.guest_type(s.last_sale_at IS NOT NULL, g.company, g.verified,
                                coalesce(ns.active, false)) AS guest_type,
           retention.personal_period_type(s.last_sale_at IS NOT NULL, g.verified,
                                          coalesce(ns.active, false)) AS personal_period_type,
           retention.last_activity(g.created_at, g.profile_updated_at, s.last_sale_at,
                                   r.last_booked_at, ns.subscribed_at) AS last_activity
) t
LEFT JOIN retention.guest_periods p
       ON p.branch_id = g.branch_id AND p.personal_period_type = t.personal_period_type
CROSS JOIN LATERAL (
    SELECT retention.personal_deadline(t.last_activity, p.personal_period, b.time_zone,
                                       r.latest_reservation_for) AS personal_deadline
) pd;

COMMENT ON VIEW retention.guest_classification_scan IS
    'retention.guest_classification by hash aggregates: for whole branches or tables.';


-- the blocker of the rules before legal holds (migration 9), no longer used
DROP FUNCTION IF EXISTS retention.blocked_reason(bigint);
