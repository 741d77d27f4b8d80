-- Branch locks held right now (runs in progress), with who holds them.
SELECT l.branch_id, l.pid, a.application_name, a.backend_start
FROM retention.branch_locks l
LEFT JOIN pg_stat_activity a ON a.pid = l.pid
ORDER BY 1
