-- Queued and failed mails, and with $1 the sent ones too; the newest $2.
SELECT * FROM (
    SELECT id, kind, branch_id, run_id, recipients, subject, message_id, created_at,
           attempts, next_attempt_at, last_error, sent_at, failed_at
    FROM retention.mail_outbox
    WHERE $1::boolean OR sent_at IS NULL
    ORDER BY id DESC
    LIMIT $2::bigint
) newest
ORDER BY id
