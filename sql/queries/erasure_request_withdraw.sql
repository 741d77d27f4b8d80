-- The requester withdraws an open erasure request (no decision: four eyes
-- do not apply); the reason is blanked as on a decision.
-- $1 bigint: request, $2 text: who (label), $3 timestamptz: when
UPDATE retention.erasure_requests
SET status = 'withdrawn', decided_by = $2::text, decided_at = $3::timestamptz, reason = NULL
WHERE id = $1::bigint
