-- The newest restore_detected row of the last 30 days, with the guests
-- (of branch $1, or all) overdue at the time the last lost seal was seen
-- and not anonymized now: the runs the restore undid had taken them, and
-- the next run takes them again.
SELECT p.id, p.at, (p.details ->> 'missing_from')::bigint AS missing_from,
       (p.details ->> 'missing_to')::bigint AS missing_to,
       (p.details ->> 'last_seen')::timestamptz AS last_seen,
       (SELECT count(*) FROM retention.guest_classification c
        WHERE c.blocked_reason IS NULL
          AND ($1::bigint IS NULL OR c.branch_id = $1)
          AND retention.anonymize_due(c.anonymized_at, c.personal_deadline,
                                      (p.details ->> 'last_seen')::timestamptz)) AS overdue
FROM retention.action_protocol p
WHERE p.action = 'restore_detected' AND p.at > now() - interval '30 days'
ORDER BY p.id DESC
LIMIT 1
