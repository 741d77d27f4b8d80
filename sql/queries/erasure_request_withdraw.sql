-- The requesting login withdraws its open request (retention_api.erasure_withdraw).
-- $1 request, $2 actor
SELECT retention_api.erasure_withdraw($1::bigint, $2::text)
