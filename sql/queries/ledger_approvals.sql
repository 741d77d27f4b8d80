-- The approved erasures sealed after position $1 up to $2, with the seal
-- that covers each approval's protocol row (a value written by hand that
-- is not a request id reads as NULL: skipped, never a failure).
SELECT s.pos, s.seal, p.at, retention.detail_bigint(p.details, 'request_id') AS request, p.guest_id,
       p.details ->> 'requested_login' AS requested_login,
       p.details ->> 'approved_login' AS approved_login
FROM retention.protocol_seals s
CROSS JOIN LATERAL unnest(s.row_ids) AS r (id)
JOIN retention.action_protocol p ON p.id = r.id
WHERE s.pos > $1 AND s.pos <= $2 AND p.action = 'erasure_approved' AND isfinite(p.at)
ORDER BY p.id
