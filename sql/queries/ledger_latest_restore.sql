-- The newest restore_detected row of the last 30 days, with the guests
-- (of branch $1, or all) overdue at the time the last lost seal was seen
-- and not anonymized now: the runs the restore undid had taken them, and
-- the next run takes them again. A last_seen more than a day after the row
-- was written is not credible (the ledger records it at once): NULL.
SELECT r.id, r.at, r.missing_from, r.missing_to, r.last_seen,
       (SELECT count(*) FROM retention.guest_classification c
        WHERE c.blocked_reason IS NULL
          AND ($1::bigint IS NULL OR c.branch_id = $1)
          AND retention.anonymize_due(c.anonymized_at, c.personal_deadline, r.last_seen)) AS overdue
FROM (
    SELECT p.id, p.at, retention.detail_bigint(p.details, 'missing_from') AS missing_from,
           retention.detail_bigint(p.details, 'missing_to') AS missing_to,
           CASE WHEN retention.detail_time(p.details, 'last_seen') <= p.at + interval '1 day'
                THEN retention.detail_time(p.details, 'last_seen') END AS last_seen
    FROM retention.action_protocol p
    WHERE p.branch_id IS NULL AND p.action = 'restore_detected'
      AND p.at > now() - interval '30 days' AND p.at <= now()
    ORDER BY p.id DESC
    LIMIT 1
) r
