-- Every branch, with whether its automatic deletion is on and whether a
-- pause of deleting is in force over it (the metrics endpoint: a series per
-- branch from the start, before its first run).
SELECT b.id AS branch_id, coalesce(s.auto_delete, false) AS auto_delete,
       EXISTS (SELECT 1 FROM retention.pauses p
               WHERE p.ended_at IS NULL AND p.until > now()
                 AND (p.branch_id IS NULL OR p.branch_id = b.id)) AS paused
FROM public.branches b
LEFT JOIN retention.branch_settings s ON s.branch_id = b.id
ORDER BY b.id
