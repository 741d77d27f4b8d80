-- Takes a branch's advisory lock for this session if nobody holds it; the
-- lock ends with the session (a crashed run loses it with its connection).
-- $1 bigint: lock key (see db::runs::branch_lock_key)
SELECT pg_try_advisory_lock($1::bigint)
