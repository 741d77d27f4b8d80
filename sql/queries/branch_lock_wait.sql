-- Takes a branch's advisory lock for this session, waiting for another run
-- to let go of it (bounded by the session's lock_timeout).
-- $1 bigint: lock key (see db::runs::branch_lock_key)
SELECT pg_advisory_lock($1::bigint)
