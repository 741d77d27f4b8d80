-- Open erasure requests of a branch made at or before a moment.
-- $1 bigint: branch, $2 timestamptz: latest request time that counts as overdue
SELECT id, requested_at FROM retention.erasure_requests
WHERE branch_id = $1::bigint AND status = 'open' AND requested_at <= $2::timestamptz
ORDER BY id
