-- Per branch, the end of its newest scheduled night that completed (the
-- metrics endpoint: "no completed night for a day" is alerted on).
SELECT night_branch_id AS branch_id, max(finished_at) AS finished_at
FROM retention.runs
WHERE kind = 'scheduled' AND status = 'completed' AND finished_at IS NOT NULL
GROUP BY night_branch_id
