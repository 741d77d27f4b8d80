-- Creates a branch's settings row if it has none and locks it until the
-- caller's transaction ends (retention_api.branch_settings_lock).
-- $1 branch, $2 actor
SELECT retention_api.branch_settings_lock($1::bigint, $2::text)
