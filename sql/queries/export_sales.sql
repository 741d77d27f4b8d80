-- Export: the guest's sales. $1 guest id
SELECT id::text, branch_id::text, sold_at::text, total_cents::text
FROM public.sales WHERE guest_id = $1::bigint ORDER BY sold_at, id
