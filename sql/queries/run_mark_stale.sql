-- Marks the dead runs of branches interrupted, with the counts of their
-- protocol rows (retention_api.run_mark_stale); returns their ids, each
-- with the branch it was found by.
-- $1 bigint[] branches, $2 now, $3 actor
SELECT s.run_id, s.found_by_branch
FROM retention_api.run_mark_stale($1::bigint[], $2::timestamptz, $3::text) AS s
