-- Links a pending snapshot to the mail queued for it.
-- $1 bigint: branch, $2 date: local day, $3 bigint: outbox id
UPDATE retention.pending_snapshots SET outbox_id = $3::bigint
WHERE branch_id = $1::bigint AND local_date = $2::date
