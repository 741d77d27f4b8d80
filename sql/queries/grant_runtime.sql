-- Grants a login role what the daemon and the commands need (migration 11).
-- $1 text: role name
SELECT retention.grant_runtime($1::text)
