-- One batch of a run (retention_api.run_batch, sql/rules/api.sql): the
-- candidates of the lists with guest ids in a range (run_next_batch.sql);
-- locks them, re-checks, anonymizes and writes the protocol rows. Rows
-- 'listed' and 'locked' count the range's candidates and the guests
-- taken, then (branch, action, guest_type, guests) per protocol action;
-- 'guests_updated' counts the guests changed.
-- $1 plan ids, $2 the guest id after which and $3 up to which the batch
-- runs, $4 cut-off, $5 actor, $6 run id
SELECT branch_id, action, guest_type, guests
FROM retention_api.run_batch($1::bigint[], $2::bigint, $3::bigint, $4::timestamptz, $5::text,
                             $6::bigint)
