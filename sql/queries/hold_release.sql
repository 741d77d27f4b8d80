-- Releases a legal hold and writes hold_released (retention_api.hold_release).
-- $1 hold, $2 actor
SELECT retention_api.hold_release($1::bigint, $2::text)
