-- Pauses deleting work for a branch (or every branch: NULL) until a time
-- and writes paused (retention_api.pause). $1 branch, $2 reason, $3 until, $4 actor
SELECT retention_api.pause($1::bigint, $2::text, $3::timestamptz, $4::text) AS id
