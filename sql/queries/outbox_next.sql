-- Takes the next mail to deliver and locks it, so that two senders never
-- deliver the same mail; the lock lasts until the caller's transaction ends.
-- $1 now, $2 ignore the retry backoff, $3 only these ids (NULL: all),
-- $4 ids already tried by this sender pass
SELECT id, kind, branch_id, recipients, message_id, subject, body_text, body_html, attempts
FROM retention_api.outbox_next($1::timestamptz, $2::boolean, $3::bigint[], $4::bigint[])
