-- Hands every object of retention and retention_api to the owner role and
-- gives it what the API needs of the guest tables (sql/rules/api.sql).
-- $1 text: the owner role
SELECT retention.hand_over($1::text)
