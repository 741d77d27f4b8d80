-- Runs marked running although none of their branch locks is held: they
-- died without finishing; the next run on their branches marks them
-- interrupted and does the rest.
-- $1 bigint: the lock class (db::runs::BRANCH_LOCK_CLASS)
SELECT r.id, r.branches, r.night
FROM retention.runs r
WHERE r.status = 'running'
  AND NOT EXISTS (
      SELECT 1 FROM pg_locks l
      WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
        AND l.classid::bigint = $1::bigint AND l.objid::bigint = ANY (r.branches)
        AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()))
ORDER BY r.id
