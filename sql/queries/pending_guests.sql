-- The guests behind the pending counts (ids only), soonest first.
SELECT i.guest_id, i.branch_id, v.action, i.guest_type, v.status, v.deadline,
       CASE WHEN v.status = 'blocked' THEN i.blocked_reason END AS blocked_reason
FROM items i
CROSS JOIN LATERAL (VALUES
    ('anonymize', i.personal_status, i.personal_deadline),
    ('erase_fiscal', i.fiscal_status, i.fiscal_deadline)
) v (action, status, deadline)
WHERE v.status IN ('overdue', 'due_soon', 'blocked')
ORDER BY i.branch_id, v.deadline, i.guest_id, v.action
