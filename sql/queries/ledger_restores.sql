-- The restore_detected rows: the missing range each records (a value
-- written by hand that is not a position reads as NULL).
SELECT p.id, p.details ->> 'login' AS login,
       retention.detail_bigint(p.details, 'missing_from') AS missing_from,
       retention.detail_bigint(p.details, 'missing_to') AS missing_to
FROM retention.action_protocol p
WHERE p.action = 'restore_detected'
ORDER BY p.id
