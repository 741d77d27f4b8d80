-- A guest's branch.
-- $1 bigint: guest
SELECT branch_id FROM public.guests WHERE id = $1::bigint
