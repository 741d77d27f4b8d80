-- Runs marked running that are no longer alive (sql/rules/runs.sql): they
-- died without finishing; the next run on their branches marks them
-- interrupted and does the rest.
SELECT r.id, r.branches, r.night
FROM retention.runs r
WHERE r.status = 'running' AND NOT retention.run_alive(r.branches)
ORDER BY r.id
