-- Ends the pauses whose time has come, each with a pause_ended row
-- (retention_api.end_pauses); returns how many. $1 actor
SELECT retention_api.end_pauses($1::text) AS ended
