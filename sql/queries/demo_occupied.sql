-- Whether the guest database holds anything (demo data only fills an empty one).
SELECT EXISTS (SELECT 1 FROM public.guests) OR EXISTS (SELECT 1 FROM public.branches)
