-- Links a pending summary to its mail. $1 branch, $2 local date, $3 outbox id
SELECT retention_api.pending_snapshot_set_outbox($1::bigint, $2::date, $3::bigint)
