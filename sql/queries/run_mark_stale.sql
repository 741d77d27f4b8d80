-- Marks a branch's dead runs interrupted, with the counts of their protocol
-- rows (retention_api.run_mark_stale); returns their ids.
-- $1 branch, $2 now, $3 actor
SELECT s.id FROM retention_api.run_mark_stale($1::bigint, $2::timestamptz, $3::text) AS s (id)
