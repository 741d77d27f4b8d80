-- Export: the guest's reservations. $1 guest id
SELECT id::text, branch_id::text, reserved_for::text, created_at::text, party_size::text, notes,
       cancelled_at::text
FROM public.reservations WHERE guest_id = $1::bigint ORDER BY reserved_for, id
