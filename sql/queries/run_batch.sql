-- One batch of a run (retention_api.run_batch, sql/rules/api.sql): locks
-- the guests of the batch that are on the run's candidate list, re-checks,
-- anonymizes and writes the protocol rows. The first row holds the locked
-- guest ids, the others (action, guest_type, guests); the last of those,
-- 'guests_updated', counts the guests changed.
-- $1 plan id, $2 bigint[] ids, $3 cut-off, $4 actor, $5 run id
SELECT locked, action, guest_type, guests
FROM retention_api.run_batch($1::bigint, $2::bigint[], $3::timestamptz, $4::text, $5::bigint)
