-- A branch's name, or nothing when it does not exist.
-- $1 bigint: branch
SELECT name FROM public.branches WHERE id = $1::bigint
