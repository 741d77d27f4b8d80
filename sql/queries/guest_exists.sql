-- Whether a guest exists.
-- $1 bigint: guest
SELECT EXISTS (SELECT 1 FROM public.guests WHERE id = $1::bigint)
