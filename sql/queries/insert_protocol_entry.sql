-- Appends one protocol row of an action a command writes on its own
-- (retention_api.protocol_write sets the time, the login and the id).
-- $1 actor, $2 action, $3 branch, $4 guest, $5 guest type, $6 run, $7 jsonb details
SELECT retention_api.protocol_write($1::text, $2::text, $3::bigint, $4::bigint, $5::text, $6::bigint,
                                    $7::jsonb)
