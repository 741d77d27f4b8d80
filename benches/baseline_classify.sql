-- The fastest plain SQL for the rules (README "How the rules are implemented"), written by hand for
-- the benchmarks: GROUP BY guest_id aggregates over sales, reservations and
-- invoices joined by hash, the newsletter joined, the effective periods per
-- branch and type with inheritance, deadlines on the branch-local calendar.
-- It uses nothing of retentiond's SQL but the table of periods. Included by
-- baseline_run.sql and baseline_pending.sql; defines the temporary view
-- `facts` (one row per guest with something left to do).
-- JIT compiling costs more than it saves on these queries (measured); the
-- fastest plain SQL switches it off.
SET jit = off;
CREATE TEMP VIEW facts AS
WITH RECURSIVE chain AS (
    SELECT id AS branch_id, id AS ancestor_id, parent_id, 0 AS depth FROM branches
    UNION ALL
    SELECT c.branch_id, p.id, p.parent_id, c.depth + 1
    FROM chain c JOIN branches p ON p.id = c.parent_id WHERE c.depth < 32
),
periods AS (
    SELECT DISTINCT ON (c.branch_id, p.guest_type) c.branch_id, p.guest_type, p.period
    FROM chain c JOIN retention.policies p ON p.branch_id = c.ancestor_id
    ORDER BY c.branch_id, p.guest_type, c.depth
),
s AS (SELECT guest_id, max(sold_at) AS last_sale FROM sales WHERE guest_id IS NOT NULL GROUP BY guest_id),
r AS (SELECT guest_id, max(created_at) AS last_booked,
             max(reserved_for) FILTER (WHERE cancelled_at IS NULL) AS resv
      FROM reservations GROUP BY guest_id),
i AS (SELECT guest_id, max(issued_at) AS last_invoice, count(*) FILTER (WHERE paid_at IS NULL) AS unpaid
      FROM invoices GROUP BY guest_id),
f AS (
    SELECT g.id, g.branch_id, b.time_zone, g.anonymized_at, g.fiscal_erased_at,
           s.last_sale, i.last_invoice, r.resv, coalesce(i.unpaid, 0) AS unpaid,
           ns.guest_id IS NOT NULL AND ns.unsubscribed_at IS NULL AS nl_active,
           CASE WHEN s.last_sale IS NOT NULL AND nullif(btrim(g.company, E' \t\r\n'), '') IS NOT NULL
                     THEN 'company_guest'
                WHEN g.verified THEN 'regular_guest'
                WHEN s.last_sale IS NOT NULL THEN 'guest'
                WHEN ns.guest_id IS NOT NULL AND ns.unsubscribed_at IS NULL THEN 'newsletter_subscriber'
                ELSE 'guest_without_sale' END AS gtype,
           CASE WHEN g.verified THEN 'regular_guest'
                WHEN s.last_sale IS NOT NULL THEN 'guest'
                WHEN ns.guest_id IS NOT NULL AND ns.unsubscribed_at IS NULL THEN 'newsletter_subscriber'
                ELSE 'guest_without_sale' END AS ptype,
           greatest(g.created_at, g.profile_updated_at, s.last_sale, r.last_booked, ns.subscribed_at)
               AS last_activity
    FROM guests g
    JOIN branches b ON b.id = g.branch_id
    LEFT JOIN s ON s.guest_id = g.id
    LEFT JOIN r ON r.guest_id = g.id
    LEFT JOIN i ON i.guest_id = g.id
    LEFT JOIN newsletter_subscriptions ns ON ns.guest_id = g.id
    WHERE g.anonymized_at IS NULL
       OR (g.fiscal_erased_at IS NULL AND nullif(btrim(g.company, E' \t\r\n'), '') IS NOT NULL)
),
d AS (
    SELECT f.*, pp.period AS pperiod, fp.period AS fperiod,
           CASE WHEN pp.period IS NOT NULL
                THEN greatest(((f.last_activity AT TIME ZONE f.time_zone) + pp.period)
                              AT TIME ZONE f.time_zone, f.resv) END AS pdl
    FROM f
    LEFT JOIN periods pp ON pp.branch_id = f.branch_id AND pp.guest_type = f.ptype
    LEFT JOIN periods fp ON fp.branch_id = f.branch_id AND fp.guest_type = 'company_guest'
)
SELECT d.*,
       CASE WHEN d.gtype = 'company_guest' AND d.fperiod IS NOT NULL AND d.pperiod IS NOT NULL
            THEN greatest(((greatest(d.last_sale, d.last_invoice) AT TIME ZONE d.time_zone)
                           + d.fperiod) AT TIME ZONE d.time_zone, d.pdl) END AS fdl
FROM d;
