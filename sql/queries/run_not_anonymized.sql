-- Guests of a branch not yet anonymized (the guard's base).
-- $1 branch id
SELECT count(*) FROM public.guests WHERE branch_id = $1::bigint AND anonymized_at IS NULL
