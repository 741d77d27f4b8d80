-- Removes a branch's own period for a type and writes policy_changed
-- (retention_api.policy_unset); returns the period it had (NULL: none).
-- $1 branch, $2 guest type, $3 actor
SELECT retention_api.policy_unset($1::bigint, $2::text, $3::text) AS old
