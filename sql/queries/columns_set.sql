-- Decides how anonymization treats a column and writes column_decided
-- (retention_api.column_set); returns the handling before.
-- $1 table, $2 column, $3 handling, $4 actor
SELECT retention_api.column_set($1::text, $2::text, $3::text, $4::text) AS old
