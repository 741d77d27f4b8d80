-- The erasure_replayed rows: each names the request, its guest and the
-- seal that covered its approval, which the ledger must hold (a value
-- written by hand that is not one reads as NULL: not held).
SELECT p.id, retention.detail_bigint(p.details, 'request_id') AS request, p.guest_id,
       retention.detail_bigint(p.details, 'seal_pos') AS seal_pos, p.details ->> 'seal' AS seal
FROM retention.action_protocol p
WHERE p.action = 'erasure_replayed'
ORDER BY p.id
