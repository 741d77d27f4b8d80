-- Branches whose time zone PostgreSQL does not know (retention.valid_time_zone):
-- they are left out of runs, reports and summaries until it is fixed.
SELECT id, time_zone FROM public.branches
WHERE NOT retention.valid_time_zone(time_zone)
ORDER BY id
