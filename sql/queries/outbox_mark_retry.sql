-- A mail to try again. $1 id, $2 next attempt, $3 attempts, $4 error
SELECT retention_api.outbox_mark($1::bigint, 'retry', $2::timestamptz, $3::int, $4::text)
