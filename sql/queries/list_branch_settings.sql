-- Settings of every branch (or one), with the defaults for branches never configured.
-- $1 branch_id or NULL
SELECT b.id AS branch_id, b.name AS branch_name, b.time_zone,
       coalesce(s.auto_delete, false) AS auto_delete,
       coalesce(s.notify_addresses, '{}') AS notify_addresses,
       coalesce(s.notify_pending, true) AS notify_pending,
       coalesce(s.notify_completed, true) AS notify_completed,
       s.locale
FROM public.branches b
LEFT JOIN retention.branch_settings s ON s.branch_id = b.id
WHERE $1::bigint IS NULL OR b.id = $1
ORDER BY b.id
