-- Removes what dead runs left of these branches' candidates.
-- $1 bigint[] branches
SELECT retention_api.run_candidates_clear_branch($1::bigint[])
