-- One batch of a run (retention_api.run_batch, sql/rules/api.sql): locks,
-- re-checks, anonymizes and writes the protocol rows. The first row holds
-- the locked guest ids, the others (action, guest_type, guests); the last of
-- those, 'guests_updated', counts the guests changed.
-- $1 bigint[] ids, $2 cut-off, $3 actor, $4 run id, $5 jsonb details, $6 branch
SELECT locked, action, guest_type, guests
FROM retention_api.run_batch($1::bigint[], $2::timestamptz, $3::text, $4::bigint, $5::jsonb,
                             $6::bigint)
