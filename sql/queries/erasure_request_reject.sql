-- A second login rejects an open request (retention_api.erasure_reject).
-- $1 request, $2 reason, $3 actor
SELECT retention_api.erasure_reject($1::bigint, $2::text, $3::text)
