-- A mail failed for now and waits for its next attempt.
-- $1 bigint: outbox id, $2 timestamptz: next attempt, $3 int: attempts, $4 text: last error (masked)
UPDATE retention.mail_outbox
SET attempts = $3::int, last_error = $4::text, next_attempt_at = $2::timestamptz
WHERE id = $1::bigint
