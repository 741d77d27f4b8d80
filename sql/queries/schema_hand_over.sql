-- Hands every object of retention and retention_api to the owner role
-- (sql/rules/api.sql), once: afterwards migrate runs as the owner role.
-- $1 text: the owner role
SELECT retention.hand_over($1::text)
