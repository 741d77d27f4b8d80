-- The pending report in one hash aggregate over retention.pending_items:
-- guests per branch, type, both statuses, blocker and local due day. The
-- caller folds these groups into per-action counts and per-day counts.
-- $1 timestamptz: the report's instant, from the clock
-- $2 timestamptz: end of the window ($1 + within)
-- $3 bigint[]: branches to report, NULL for all
SELECT branch_id, guest_type, personal_status, fiscal_status,
       CASE WHEN 'blocked' IN (personal_status, fiscal_status) THEN blocked_reason END AS blocked_reason,
       CASE WHEN personal_status = 'due_soon'
            THEN (personal_deadline AT TIME ZONE time_zone)::date END AS personal_day,
       CASE WHEN fiscal_status = 'due_soon'
            THEN (fiscal_deadline AT TIME ZONE time_zone)::date END AS fiscal_day,
       count(*) AS guests,
       count(*) FILTER (WHERE newsletter_active
                          AND personal_status IN ('overdue', 'due_soon')) AS unsubscriptions
FROM retention.pending_items($1::timestamptz, $2::timestamptz, $3::bigint[])
WHERE personal_status IS NOT NULL OR fiscal_status IS NOT NULL
GROUP BY 1, 2, 3, 4, 5, 6, 7
