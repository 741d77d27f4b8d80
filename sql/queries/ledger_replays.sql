-- The erasure_replayed rows: each names the request and the seal that
-- covered its approval, which the ledger must hold.
SELECT p.id, (p.details ->> 'request_id')::bigint AS request, p.details ->> 'seal' AS seal
FROM retention.action_protocol p
WHERE p.action = 'erasure_replayed'
ORDER BY p.id
