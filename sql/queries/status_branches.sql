-- Per branch: automatic deletion, types without a period, and the latest
-- finished run covering it (its status, and whether it held this branch).
SELECT b.id AS branch_id,
       coalesce(s.auto_delete, false) AS auto_delete,
       ARRAY(SELECT t FROM unnest(ARRAY['newsletter_subscriber', 'guest_without_sale', 'guest',
                                        'regular_guest', 'company_guest']) AS t
             WHERE NOT EXISTS (SELECT 1 FROM retention.effective_policies p
                               WHERE p.branch_id = b.id AND p.guest_type = t)) AS unconfigured,
       last.id AS last_run_id, last.status AS last_run_status,
       coalesce(last.held @> jsonb_build_array(jsonb_build_object('branch_id', b.id)), false) AS held
FROM public.branches b
LEFT JOIN retention.branch_settings s ON s.branch_id = b.id
LEFT JOIN LATERAL (
    SELECT r.id, r.status, r.held
    FROM retention.runs r
    WHERE b.id = ANY (r.branches) AND r.status <> 'running'
    ORDER BY r.id DESC
    LIMIT 1
) last ON true
ORDER BY b.id
