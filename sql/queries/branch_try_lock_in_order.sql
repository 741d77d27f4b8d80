-- Takes the advisory locks of branches for this session in ascending order,
-- up to the first one another session holds; returns the branches taken.
-- $1 bigint[]: branches
SELECT retention_api.branch_try_lock_in_order($1::bigint[])
