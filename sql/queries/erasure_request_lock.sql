-- An erasure request, locked for its decision.
-- $1 bigint: request
SELECT guest_id, branch_id, requested_by, status
FROM retention.erasure_requests
WHERE id = $1::bigint
FOR UPDATE
