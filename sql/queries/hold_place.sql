-- Places a legal hold on a guest or a branch and writes hold_placed
-- (retention_api.hold_place). $1 guest, $2 branch, $3 reason, $4 until, $5 actor
SELECT retention_api.hold_place($1::bigint, $2::bigint, $3::text, $4::date, $5::text) AS id
