-- Grants a login what the daemon and the commands need (sql/rules/api.sql),
-- run as the owner role. $1 text: role name
SELECT retention.grant_runtime($1::text)
