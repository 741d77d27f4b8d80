-- The guests behind the pending counts (ids only), soonest first.
-- $1 timestamptz: the report's instant, $2 timestamptz: end of the window,
-- $3 bigint[]: branches to report, NULL for all
SELECT i.guest_id, i.branch_id, v.action, i.guest_type, v.status, v.deadline,
       CASE WHEN v.status = 'blocked' THEN i.blocked_reason END AS blocked_reason
FROM retention.pending_items($1::timestamptz, $2::timestamptz, $3::bigint[]) i
CROSS JOIN LATERAL (VALUES
    ('anonymize', i.personal_status, i.personal_deadline),
    ('erase_fiscal', i.fiscal_status, i.fiscal_deadline)
) v (action, status, deadline)
WHERE v.status IN ('overdue', 'due_soon', 'blocked')
ORDER BY i.branch_id, v.deadline, i.guest_id, v.action
