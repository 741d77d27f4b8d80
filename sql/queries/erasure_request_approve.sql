-- A second login approves an open request: the guest is anonymized now
-- (retention_api.erasure_approve).
-- $1 request, $2 actor
SELECT guest_id, fiscal_erased, fiscal_kept FROM retention_api.erasure_approve($1::bigint, $2::text)
