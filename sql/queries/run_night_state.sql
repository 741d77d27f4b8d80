-- Whether a branch's night is taken, and how many attempts ended without
-- finishing. A run still marked running counts only while its branch lock
-- is held: without it, the run died (killed, OOM, reboot) and the night is
-- open again; the next holder of the lock marks it interrupted.
-- $1 bigint: branch, $2 date: night, $3 bigint: the lock class
-- (db::runs::BRANCH_LOCK_CLASS)
SELECT count(*) FILTER (WHERE status IN ('completed', 'partial', 'held')
                           OR (status = 'running' AND lock.held)) AS claimed,
       count(*) FILTER (WHERE status IN ('failed', 'interrupted')) AS failed
FROM retention.runs
CROSS JOIN (
    SELECT EXISTS (
        SELECT 1 FROM pg_locks l
        WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
          AND l.classid::bigint = $3::bigint AND l.objid::bigint = $1::bigint
          AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
    ) AS held
) lock
WHERE night_branch_id = $1::bigint AND night = $2::date
