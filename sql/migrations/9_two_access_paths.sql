-- The rules as functions over a guest's facts, and two ways to gather the
-- facts: by index for one guest or a batch of ids, by hash aggregates for a
-- whole branch or table.
--
-- Each rule is one SQL expression (DESIGN "Rules"); the planner inlines the
-- functions, so they cost what the expression costs. Every argument that a
-- caller passes as an expression is used once, which keeps them inlinable.
--
-- retention.guest_classification (the index path, migration 4) is redefined
-- over the rule functions, with the same columns: every per-guest fact is a
-- LATERAL index lookup, right for `classify` and a batch's `id = ANY ($1)`.
-- retention.guest_classification_scan has the same columns and rules, with
-- the facts as GROUP BY guest_id aggregates joined by hash: one pass over
-- sales, reservations and invoices whatever the number of branches, for run
-- candidates and the pending report.

CREATE FUNCTION retention.has_company(company text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT nullif(btrim($1, E' \t\r\n'), '') IS NOT NULL $$;

-- Type, first match wins.
CREATE FUNCTION retention.guest_type(
    has_sale boolean, company text, verified boolean, newsletter_active boolean
) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE
        WHEN $1 AND nullif(btrim($2, E' \t\r\n'), '') IS NOT NULL THEN 'company_guest'
        WHEN $3 THEN 'regular_guest'
        WHEN $1 THEN 'guest'
        WHEN $4 THEN 'newsletter_subscriber'
        ELSE 'guest_without_sale'
    END
$$;

-- The type whose period governs personal data: a company guest's is the
-- regular guest period if verified, else the guest period; any other
-- guest's is its own type's.
CREATE FUNCTION retention.personal_period_type(
    has_sale boolean, verified boolean, newsletter_active boolean
) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE
        WHEN $2 THEN 'regular_guest'
        WHEN $1 THEN 'guest'
        WHEN $3 THEN 'newsletter_subscriber'
        ELSE 'guest_without_sale'
    END
$$;

-- Reservation, sale, manual edit and newsletter sign-up all extend retention.
CREATE FUNCTION retention.last_activity(
    created_at timestamptz, profile_updated_at timestamptz, last_sale_at timestamptz,
    last_booked_at timestamptz, subscribed_at timestamptz
) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT greatest($1, $2, $3, $4, $5) $$;

-- Last activity + period on the branch's local calendar, but never before a
-- (non-cancelled) reservation happens; NULL when no period is configured.
CREATE FUNCTION retention.personal_deadline(
    last_activity timestamptz, period interval, time_zone text,
    latest_reservation_for timestamptz
) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE WHEN $2 IS NOT NULL
                THEN greatest((($1 AT TIME ZONE $3) + $2) AT TIME ZONE $3, $4)
           END
$$;

-- A company guest's fiscal data: latest sale or invoice + the company
-- period, never before the personal deadline; NULL where either period is
-- not configured or the guest is no company guest.
CREATE FUNCTION retention.fiscal_deadline(
    guest_type text, last_sale_at timestamptz, last_invoice_at timestamptz,
    fiscal_period interval, personal_period interval, time_zone text,
    personal_deadline timestamptz
) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE WHEN $1 = 'company_guest' AND $4 IS NOT NULL AND $5 IS NOT NULL
                THEN greatest(((greatest($2, $3) AT TIME ZONE $6) + $4) AT TIME ZONE $6, $7)
           END
$$;

-- Whether PostgreSQL accepts a time zone name: the one rule for SQL and
-- Rust. A branch whose zone it does not accept is left out of every scan
-- (and so of runs, reports and summaries) and reported, instead of failing
-- them all. Asking the zone parser costs microseconds per branch; reading
-- pg_timezone_names costs 30 to 130 ms per statement (measured).
CREATE FUNCTION retention.valid_time_zone(name text) RETURNS boolean
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
AS $$
BEGIN
    PERFORM now() AT TIME ZONE name;
    RETURN true;
EXCEPTION WHEN invalid_parameter_value THEN
    RETURN false;
END
$$;

-- A guest with an unpaid invoice is not touched.
CREATE FUNCTION retention.blocked_reason(unpaid_invoices bigint) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT CASE WHEN $1 > 0 THEN 'unpaid_invoice' END $$;

-- The index path: every fact a LATERAL lookup by guest id.
CREATE OR REPLACE VIEW retention.guest_classification (
    guest_id, branch_id, time_zone, guest_type, verified, has_company, created_at,
    profile_updated_at, last_sale_at, last_booked_at, subscribed_at, newsletter_active,
    last_activity, latest_reservation_for, last_invoice_at, unpaid_invoices,
    personal_period_type, personal_period, personal_period_inherited, personal_deadline,
    fiscal_period, fiscal_period_inherited, fiscal_deadline, blocked_reason, anonymized_at,
    fiscal_erased_at
) AS
SELECT g.id, g.branch_id, b.time_zone, t.guest_type, g.verified,
       retention.has_company(g.company), g.created_at, g.profile_updated_at,
       s.last_sale_at, r.last_booked_at, ns.subscribed_at, coalesce(ns.active, false),
       t.last_activity,
       r.latest_reservation_for, i.last_invoice_at, i.unpaid, t.personal_period_type,
       pp.period, pp.inherited, pd.personal_deadline, fp.period, fp.inherited,
       retention.fiscal_deadline(t.guest_type, s.last_sale_at, i.last_invoice_at, fp.period,
                                 pp.period, b.time_zone, pd.personal_deadline),
       retention.blocked_reason(i.unpaid), g.anonymized_at, g.fiscal_erased_at
FROM public.guests g
JOIN public.branches b ON b.id = g.branch_id
CROSS JOIN LATERAL (
    SELECT max(x.sold_at) AS last_sale_at FROM public.sales x WHERE x.guest_id = g.id
) s
CROSS JOIN LATERAL (
    SELECT max(x.created_at) AS last_booked_at,
           max(x.reserved_for) FILTER (WHERE x.cancelled_at IS NULL) AS latest_reservation_for
    FROM public.reservations x WHERE x.guest_id = g.id
) r
CROSS JOIN LATERAL (
    SELECT max(x.issued_at) AS last_invoice_at, count(*) FILTER (WHERE x.paid_at IS NULL) AS unpaid
    FROM public.invoices x WHERE x.guest_id = g.id
) i
LEFT JOIN LATERAL (
    -- at most one row (guest_id is the key); the LIMIT keeps it a lookup
    SELECT x.subscribed_at, x.unsubscribed_at IS NULL AS active
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
LEFT JOIN retention.effective_policies pp
       ON pp.branch_id = g.branch_id AND pp.guest_type = t.personal_period_type
LEFT JOIN retention.effective_policies fp
       ON fp.branch_id = g.branch_id AND fp.guest_type = 'company_guest'
CROSS JOIN LATERAL (
    SELECT retention.personal_deadline(t.last_activity, pp.period, b.time_zone,
                                       r.latest_reservation_for) AS personal_deadline
) pd;

-- The scan path: the same columns and rules, every fact a hash aggregate.
-- Branches whose time zone PostgreSQL does not accept are left out; the
-- check runs once per branch and statement (materialized).
CREATE VIEW retention.guest_classification_scan AS
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
       pp.period AS personal_period, pp.inherited AS personal_period_inherited,
       pd.personal_deadline, fp.period AS fiscal_period,
       fp.inherited AS fiscal_period_inherited,
       retention.fiscal_deadline(t.guest_type, s.last_sale_at, i.last_invoice_at, fp.period,
                                 pp.period, b.time_zone, pd.personal_deadline)
           AS fiscal_deadline,
       retention.blocked_reason(coalesce(i.unpaid, 0)) AS blocked_reason,
       g.anonymized_at, g.fiscal_erased_at
FROM public.guests g
JOIN zoned b ON b.id = g.branch_id
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
LEFT JOIN retention.effective_policies pp
       ON pp.branch_id = g.branch_id AND pp.guest_type = t.personal_period_type
LEFT JOIN retention.effective_policies fp
       ON fp.branch_id = g.branch_id AND fp.guest_type = 'company_guest'
CROSS JOIN LATERAL (
    SELECT retention.personal_deadline(t.last_activity, pp.period, b.time_zone,
                                       r.latest_reservation_for) AS personal_deadline
) pd;

COMMENT ON VIEW retention.guest_classification_scan IS
    'retention.guest_classification by hash aggregates: for whole branches or tables.';

-- The head of the pending report's two queries (pending_counts.sql,
-- pending_guests.sql): every guest with something ahead and the status of
-- each of its two actions at the report's instant, on the scan path. A
-- set-returning SQL function that the planner inlines like a subquery.
-- at: the report's instant, from the caller's clock; until: end of the
-- window; branches: the branches to report, NULL for all.
-- The OFFSET 0 keeps the classification a subquery of its own: each deadline
-- is computed once per guest, not once for every reference in the CASEs
-- (inlined, the report cost 1.7x the classification itself).
CREATE FUNCTION retention.pending_items(at timestamptz, until timestamptz, branches bigint[])
RETURNS TABLE (
    guest_id bigint, branch_id bigint, time_zone text, guest_type text,
    newsletter_active boolean, personal_deadline timestamptz, fiscal_deadline timestamptz,
    blocked_reason text, personal_status text, fiscal_status text
)
LANGUAGE sql STABLE
AS $$
    SELECT c.guest_id, c.branch_id, c.time_zone, c.guest_type, c.newsletter_active,
           c.personal_deadline, c.fiscal_deadline, c.blocked_reason,
           CASE WHEN c.anonymized_at IS NULL THEN
               CASE WHEN c.personal_deadline IS NULL THEN 'not_configured'
                    WHEN c.personal_deadline > $2 THEN NULL -- retained beyond the window
                    WHEN c.blocked_reason IS NOT NULL THEN 'blocked'
                    WHEN c.personal_deadline <= $1 THEN 'overdue'
                    ELSE 'due_soon' END
           END,
           CASE WHEN c.guest_type = 'company_guest' AND c.fiscal_erased_at IS NULL THEN
               CASE WHEN c.fiscal_deadline IS NULL THEN 'not_configured'
                    WHEN c.fiscal_deadline > $2 THEN NULL
                    WHEN c.blocked_reason IS NOT NULL THEN 'blocked'
                    WHEN c.fiscal_deadline <= $1 THEN 'overdue'
                    ELSE 'due_soon' END
           END
    FROM (
        SELECT * FROM retention.guest_classification_scan c
        -- guests with something left to do: not anonymized, or company data still kept
        WHERE (c.anonymized_at IS NULL OR (c.fiscal_erased_at IS NULL AND c.has_company))
          AND ($3 IS NULL OR c.branch_id = ANY ($3))
        OFFSET 0
    ) c
$$;
