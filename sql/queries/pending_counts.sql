-- Counts per branch, action, type, status and reason, then per branch, action
-- and local day of the window; one pass over the classification.
SELECT 'count' AS kind, branch_id, action, guest_type, status, blocked_reason,
       NULL::date AS day, count(*) AS guests,
       count(*) FILTER (WHERE action = 'anonymize' AND newsletter_active
                          AND status IN ('overdue', 'due_soon')) AS unsubscriptions
FROM items
WHERE status IS NOT NULL
GROUP BY branch_id, action, guest_type, status, blocked_reason
UNION ALL
SELECT 'day', branch_id, action, NULL, NULL, NULL,
       (deadline AT TIME ZONE time_zone)::date, count(*), 0
FROM items
WHERE status = 'due_soon'
GROUP BY branch_id, action, (deadline AT TIME ZONE time_zone)::date
ORDER BY kind, branch_id, action, guest_type, status, day
