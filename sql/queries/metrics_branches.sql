-- Every branch, with whether its automatic deletion is on (the metrics
-- endpoint: a series per branch from the start, before its first run).
SELECT b.id AS branch_id, coalesce(s.auto_delete, false) AS auto_delete
FROM public.branches b
LEFT JOIN retention.branch_settings s ON s.branch_id = b.id
ORDER BY b.id
