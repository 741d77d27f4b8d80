-- Branches: the first is the head office, the others belong to it.
-- Reads its parameters from pg_temp.demo_params (p).
INSERT INTO public.branches (id, name, parent_id, time_zone)
SELECT i,
       CASE WHEN i = 1 THEN 'Zentrale ' ELSE 'Filiale ' END
           || (ARRAY['Hamburg', 'Wien', 'Lissabon', 'München', 'Köln', 'Graz', 'Porto', 'Bremen'])[1 + (i - 1) % 8],
       CASE WHEN i = 1 THEN NULL ELSE 1 END,
       (ARRAY['Europe/Berlin', 'Europe/Vienna', 'Europe/Lisbon', 'Europe/Berlin'])[1 + (i - 1) % 4]
FROM pg_temp.demo_params p
CROSS JOIN LATERAL generate_series(1, p.branches) i
