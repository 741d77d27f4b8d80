-- A mail given up. $1 id, $2 at, $3 attempts, $4 error
SELECT retention_api.outbox_mark($1::bigint, 'failed', $2::timestamptz, $3::int, $4::text)
