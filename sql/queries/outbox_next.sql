-- Takes the next mail to deliver and locks it, so that two senders never
-- deliver the same mail; the lock lasts until the caller's transaction ends.
-- $1 now, $2 ignore the retry backoff, $3 only these ids (NULL: all),
-- $4 ids already tried by this sender pass
SELECT id, kind, branch_id, recipients, message_id, subject, body_text, body_html, attempts
FROM retention.mail_outbox
WHERE sent_at IS NULL AND failed_at IS NULL
  AND ($2::boolean OR next_attempt_at <= $1::timestamptz)
  AND ($3::bigint[] IS NULL OR id = ANY ($3::bigint[]))
  AND NOT (id = ANY ($4::bigint[]))
ORDER BY id
LIMIT 1
FOR UPDATE SKIP LOCKED
