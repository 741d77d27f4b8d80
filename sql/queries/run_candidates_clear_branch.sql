-- Drops the candidate lists dead runs left for branches whose locks the
-- caller now holds.
-- $1 bigint[]: branches
DELETE FROM retention.run_candidates WHERE branch_id = ANY ($1::bigint[])
