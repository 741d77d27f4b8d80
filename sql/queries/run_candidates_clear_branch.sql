-- Drops the candidate lists a dead run left for a branch whose lock the
-- caller now holds.
-- $1 bigint: branch
DELETE FROM retention.run_candidates WHERE branch_id = $1::bigint
