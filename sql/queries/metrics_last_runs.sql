-- Per branch, its newest run that has ended (the metrics endpoint).
SELECT DISTINCT ON (b.branch_id) b.branch_id, r.status, r.started_at, r.finished_at
FROM retention.runs r
CROSS JOIN LATERAL unnest(r.branches) AS b (branch_id)
WHERE r.status <> 'running'
ORDER BY b.branch_id, r.id DESC
