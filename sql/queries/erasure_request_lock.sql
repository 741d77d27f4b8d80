-- An erasure request, locked for its decision, with the login that asked
-- and the login asking now.
-- $1 bigint: request
SELECT guest_id, branch_id, requested_by, status, requested_login, session_user::text AS login
FROM retention.erasure_requests
WHERE id = $1::bigint
FOR UPDATE
