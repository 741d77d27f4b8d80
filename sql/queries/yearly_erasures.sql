-- The erasure requests of a report's year (erasure_requested rows) with
-- their decision or withdrawal, whenever it came (the first such row of the
-- same request id).
-- $1 timestamptz: from (inclusive), $2 timestamptz: until (exclusive),
-- $3 bigint: branch or NULL
SELECT (r.details ->> 'request_id')::bigint AS request_id, r.branch_id, r.at AS requested_at,
       r.actor AS requested_by, r.details ->> 'login' AS requested_login,
       d.action AS decision, d.at AS decided_at, d.actor AS decided_by,
       d.details ->> 'login' AS decided_login
FROM retention.action_protocol r
LEFT JOIN LATERAL (
    SELECT x.action, x.at, x.actor, x.details
    FROM retention.action_protocol x
    WHERE x.action IN ('erasure_approved', 'erasure_rejected', 'erasure_withdrawn')
      AND x.details ->> 'request_id' = r.details ->> 'request_id'
    ORDER BY x.id
    LIMIT 1
) d ON true
WHERE r.action = 'erasure_requested'
  AND r.at >= $1::timestamptz AND r.at < $2::timestamptz
  AND ($3::bigint IS NULL OR r.branch_id = $3::bigint)
ORDER BY r.at, r.id
