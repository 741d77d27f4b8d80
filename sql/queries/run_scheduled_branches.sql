-- Branches whose automatic deletion is on, with their time zone and
-- whether PostgreSQL knows it (retention.valid_time_zone).
SELECT b.id AS branch_id, b.time_zone, retention.valid_time_zone(b.time_zone) AS valid
FROM public.branches b
JOIN retention.branch_settings s ON s.branch_id = b.id
WHERE s.auto_delete
ORDER BY b.id
