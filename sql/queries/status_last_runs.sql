-- The newest runs.
-- $1 how many
SELECT id, kind, actor, branches, status, started_at, finished_at, counts, remaining, held, error
FROM retention.runs
ORDER BY id DESC
LIMIT $1::bigint
