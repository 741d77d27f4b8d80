-- Per branch, its newest pending snapshot (taken by the daily pending
-- summary): the metrics endpoint reads these, never the guests.
SELECT DISTINCT ON (branch_id) branch_id, overdue, due_soon
FROM retention.pending_snapshots
ORDER BY branch_id, local_date DESC
