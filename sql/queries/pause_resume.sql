-- Ends the pauses of a branch (or the global one: NULL) now, each with a
-- resumed row (retention_api.resume); returns how many. $1 branch, $2 actor
SELECT retention_api.resume($1::bigint, $2::text) AS ended
