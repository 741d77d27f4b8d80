-- Every night a scheduled run started on, per branch, from the run_started
-- protocol rows of every year (the first one tells since when a branch's
-- nights are expected).
-- $1 bigint: branch or NULL
SELECT DISTINCT s.branch_id, (s.details ->> 'night')::date AS night
FROM retention.action_protocol s
WHERE s.action = 'run_started' AND s.details ->> 'kind' = 'scheduled'
  AND s.branch_id IS NOT NULL AND s.details ->> 'night' IS NOT NULL
  AND ($1::bigint IS NULL OR s.branch_id = $1::bigint)
ORDER BY 1, 2
