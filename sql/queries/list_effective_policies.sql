-- Every branch × guest type with the period in force and where it comes from.
-- $1 branch_id or NULL for all branches
SELECT b.id AS branch_id, b.name AS branch_name, t.guest_type,
       e.period::text AS period, e.inherited, e.source_branch_id
FROM public.branches b
CROSS JOIN unnest(ARRAY['newsletter_subscriber', 'guest_without_sale', 'guest',
                        'regular_guest', 'company_guest']) WITH ORDINALITY AS t (guest_type, ord)
LEFT JOIN retention.effective_policies e
       ON e.branch_id = b.id AND e.guest_type = t.guest_type
WHERE $1::bigint IS NULL OR b.id = $1
ORDER BY b.id, t.ord
