-- The next batch of a plan after the last guest id done (keyset: the cost
-- is proportional to the batch, never to the table).
-- $1 bigint: plan id, $2 bigint: last guest id done, $3 bigint: batch size
SELECT guest_id
FROM retention.run_candidates
WHERE plan_id = $1 AND guest_id > $2
ORDER BY guest_id
LIMIT $3
