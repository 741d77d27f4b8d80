-- Branch locks held right now (runs in progress), with who holds them.
-- $1 the lock class (high 32 bits of the key)
SELECT l.objid::bigint AS branch_id, l.pid, a.application_name, a.backend_start
FROM pg_locks l
LEFT JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.granted
  AND l.classid::bigint = $1::bigint
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
ORDER BY 1
