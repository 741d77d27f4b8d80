-- The latest night a branch has a scheduled run for (any outcome).
-- $1 bigint: branch
SELECT max(night) FROM retention.runs WHERE night_branch_id = $1::bigint
