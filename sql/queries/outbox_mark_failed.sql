-- A mail is given up.
-- $1 bigint: outbox id, $2 timestamptz: when, $3 int: attempts, $4 text: last error (masked)
UPDATE retention.mail_outbox
SET failed_at = $2::timestamptz, attempts = $3::int, last_error = $4::text
WHERE id = $1::bigint
