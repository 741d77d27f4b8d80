-- Erasure requests, oldest first: the open ones, or all.
-- $1 boolean: all
SELECT id, guest_id, branch_id, reason, requested_by, requested_login, requested_at, status,
       decided_by, decided_login, decided_at
FROM retention.erasure_requests
WHERE $1::boolean OR status = 'open'
ORDER BY id
