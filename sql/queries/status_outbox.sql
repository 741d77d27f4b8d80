-- Mails queued, and mails given up in the last 7 days.
-- $1 now
SELECT count(*) FILTER (WHERE sent_at IS NULL AND failed_at IS NULL) AS queued,
       count(*) FILTER (WHERE failed_at > $1::timestamptz - interval '7 days') AS failed_recently
FROM retention.mail_outbox
