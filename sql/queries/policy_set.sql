-- Sets a branch's own period for a type and writes policy_changed
-- (retention_api.policy_set): the period before, and whether it changed.
-- $1 branch, $2 guest type, $3 period (normalized), $4 actor
SELECT old, changed FROM retention_api.policy_set($1::bigint, $2::text, $3::text, $4::text)
