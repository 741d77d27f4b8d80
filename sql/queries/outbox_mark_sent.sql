-- A mail delivered. $1 id, $2 at, $3 attempts, $4 server response
SELECT retention_api.outbox_mark($1::bigint, 'sent', $2::timestamptz, $3::int, $4::text)
