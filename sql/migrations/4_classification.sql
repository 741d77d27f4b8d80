-- The one definition of the retention rules (DESIGN "Rules"), used by the
-- pending report, `classify` and the run engine alike.
--
-- retention.guest_classification has one row per guest with its type, last
-- activity, deadlines and blocker. None of these depend on the moment of
-- evaluation; whether a deadline has passed is decided by the caller against
-- an instant from its clock (a bound parameter, never now()). As a view it is
-- inlined: a caller's WHERE on guest_id, branch_id or anonymized_at is pushed
-- down to the guests scan, and every per-guest aggregate is an index range
-- scan on (guest_id, ...), never a pass over all sales per guest.
--
-- Deadlines are computed on the branch's local calendar ('3 years' after
-- 14:00 local time is 14:00 local time, across daylight saving changes),
-- independent of the session's TimeZone.

CREATE VIEW retention.guest_classification (
    guest_id,
    branch_id,
    time_zone,
    guest_type,
    verified,
    has_company,
    created_at,
    profile_updated_at,
    last_sale_at,
    last_booked_at,
    subscribed_at,
    newsletter_active,
    last_activity,
    latest_reservation_for,
    last_invoice_at,
    unpaid_invoices,
    personal_period_type,
    personal_period,
    personal_period_inherited,
    personal_deadline,
    fiscal_period,
    fiscal_period_inherited,
    fiscal_deadline,
    blocked_reason,
    anonymized_at,
    fiscal_erased_at
) AS
SELECT
    g.id,
    g.branch_id,
    b.time_zone,
    t.guest_type,
    g.verified,
    t.has_company,
    g.created_at,
    g.profile_updated_at,
    s.last_sale_at,
    r.last_booked_at,
    ns.subscribed_at,
    ns.guest_id IS NOT NULL AND ns.unsubscribed_at IS NULL,
    a.last_activity,
    r.latest_reservation_for,
    i.last_invoice_at,
    i.unpaid,
    t.personal_period_type,
    pp.period,
    pp.inherited,
    pd.personal_deadline,
    fp.period,
    fp.inherited,
    -- fiscal data: latest sale or invoice + company period, never before the
    -- personal deadline; unset where either period is not configured
    CASE WHEN t.guest_type = 'company_guest' AND fp.period IS NOT NULL
              AND pd.personal_deadline IS NOT NULL
         THEN greatest(
                  ((greatest(s.last_sale_at, i.last_invoice_at) AT TIME ZONE b.time_zone)
                      + fp.period) AT TIME ZONE b.time_zone,
                  pd.personal_deadline)
    END,
    CASE WHEN i.unpaid > 0 THEN 'unpaid_invoice' END,
    g.anonymized_at,
    g.fiscal_erased_at
FROM public.guests g
JOIN public.branches b ON b.id = g.branch_id
LEFT JOIN public.newsletter_subscriptions ns ON ns.guest_id = g.id
-- latest sale (index-only backward scan on sales (guest_id, sold_at))
CROSS JOIN LATERAL (
    SELECT max(x.sold_at) AS last_sale_at
    FROM public.sales x WHERE x.guest_id = g.id
) s
-- latest booking, and the latest moment a non-cancelled reservation is for
CROSS JOIN LATERAL (
    SELECT max(x.created_at) AS last_booked_at,
           max(x.reserved_for) FILTER (WHERE x.cancelled_at IS NULL) AS latest_reservation_for
    FROM public.reservations x WHERE x.guest_id = g.id
) r
-- latest invoice and unpaid invoices
CROSS JOIN LATERAL (
    SELECT max(x.issued_at) AS last_invoice_at,
           count(*) FILTER (WHERE x.paid_at IS NULL) AS unpaid
    FROM public.invoices x WHERE x.guest_id = g.id
) i
-- type, first match wins; a blank company is no company
CROSS JOIN LATERAL (
    SELECT c.has_company,
           c.guest_type,
           -- a company guest's personal data follows the guest or regular guest period
           CASE WHEN c.guest_type = 'company_guest'
                THEN CASE WHEN g.verified THEN 'regular_guest' ELSE 'guest' END
                ELSE c.guest_type
           END AS personal_period_type
    FROM (
        SELECT nullif(btrim(g.company, E' \t\r\n'), '') IS NOT NULL AS has_company,
               CASE
                   WHEN s.last_sale_at IS NOT NULL
                        AND nullif(btrim(g.company, E' \t\r\n'), '') IS NOT NULL THEN 'company_guest'
                   WHEN g.verified THEN 'regular_guest'
                   WHEN s.last_sale_at IS NOT NULL THEN 'guest'
                   WHEN ns.guest_id IS NOT NULL AND ns.unsubscribed_at IS NULL THEN 'newsletter_subscriber'
                   ELSE 'guest_without_sale'
               END AS guest_type
    ) c
) t
-- reservation, sale, manual edit and newsletter sign-up all extend retention
CROSS JOIN LATERAL (
    SELECT greatest(g.created_at, g.profile_updated_at, s.last_sale_at,
                    r.last_booked_at, ns.subscribed_at) AS last_activity
) a
LEFT JOIN retention.effective_policies pp
       ON pp.branch_id = g.branch_id AND pp.guest_type = t.personal_period_type
LEFT JOIN retention.effective_policies fp
       ON fp.branch_id = g.branch_id AND fp.guest_type = 'company_guest'
-- kept at least until a (non-cancelled) reservation happens
CROSS JOIN LATERAL (
    SELECT CASE WHEN pp.period IS NOT NULL
                THEN greatest(((a.last_activity AT TIME ZONE b.time_zone) + pp.period)
                                  AT TIME ZONE b.time_zone,
                              r.latest_reservation_for)
           END AS personal_deadline
) pd;

COMMENT ON VIEW retention.guest_classification IS
    'Guest type, last activity, deadlines and blocker of every guest (retentiond rules).';
