-- Takes a branch's advisory lock for this session if nobody holds it; the
-- lock ends with the session (a crashed run loses it with its connection).
-- $1 bigint: branch (its key: retention.branch_lock_key, sql/rules/runs.sql)
SELECT pg_try_advisory_lock(retention.branch_lock_key($1::bigint))
