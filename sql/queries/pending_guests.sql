-- The guests behind the pending counts (ids only), soonest first.
SELECT guest_id, branch_id, action, guest_type, status, deadline, blocked_reason
FROM items
WHERE status IN ('overdue', 'due_soon', 'blocked')
ORDER BY branch_id, deadline, guest_id, action
