-- Takes a branch's advisory lock for this session, waiting for another run
-- to let go of it (bounded by the session's lock_timeout).
-- $1 bigint: branch (its key: retention.branch_lock_key, sql/rules/runs.sql)
SELECT pg_advisory_lock(retention.branch_lock_key($1::bigint))
