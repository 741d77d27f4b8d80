-- An erasure request as it stands, with the login that asked and the login
-- asking now (the decision functions lock and check it again).
-- $1 bigint: request
SELECT guest_id, branch_id, requested_by, status, requested_login, session_user::text AS login
FROM retention.erasure_requests
WHERE id = $1::bigint
