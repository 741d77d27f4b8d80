-- Queues one mail; nothing when a mail with the same dedupe key exists.
-- $1 kind, $2 dedupe key, $3 branch, $4 run, $5 locale, $6 recipients,
-- $7 Message-ID, $8 subject, $9 text part, $10 HTML part, $11 now
INSERT INTO retention.mail_outbox
    (kind, dedupe_key, branch_id, run_id, locale, recipients, message_id, subject,
     body_text, body_html, created_at, next_attempt_at)
VALUES ($1::text, $2::text, $3::bigint, $4::bigint, $5::text, $6::text[], $7::text, $8::text,
        $9::text, $10::text, $11::timestamptz, $11::timestamptz)
ON CONFLICT (dedupe_key) DO NOTHING
RETURNING id
