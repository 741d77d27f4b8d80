-- Records an erasure request, writes erasure_requested and ends the guest's
-- newsletter (retention_api.erasure_request); NULL when one is open.
-- $1 guest, $2 reason, $3 actor
SELECT retention_api.erasure_request($1::bigint, $2::text, $3::text) AS id
