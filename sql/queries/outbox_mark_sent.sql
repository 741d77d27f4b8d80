-- The server accepted a mail.
-- $1 bigint: outbox id, $2 timestamptz: when, $3 int: attempts, $4 text: the server's answer
UPDATE retention.mail_outbox
SET sent_at = $2::timestamptz, attempts = $3::int, server_response = $4::text, last_error = NULL
WHERE id = $1::bigint
