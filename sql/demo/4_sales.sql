-- One to four sales for guests with sales, within two years of their creation.
-- Reads its parameters from pg_temp.demo_params (p).
INSERT INTO public.sales (guest_id, branch_id, sold_at, total_cents)
SELECT g.id, g.branch_id,
       least(p.anchor - interval '1 hour',
             g.created_at + (pg_temp.demo_rand(g.id * 8 + k, 21, p.seed) * 730) * interval '1 day'),
       (1500 + pg_temp.demo_rand(g.id * 8 + k, 22, p.seed) * 25000)::bigint
FROM pg_temp.demo_params p
CROSS JOIN public.guests g
CROSS JOIN LATERAL generate_series(1, 1 + (pg_temp.demo_rand(g.id, 20, p.seed) * 4)::int % 4) k
WHERE pg_temp.demo_rand(g.id, 10, p.seed) >= 0.32
