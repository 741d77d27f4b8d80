-- Reservations for 30 % of guests: booked within a year of creation, for a
-- day up to 60 days later; 10 % cancelled; 3 % of guests have one ahead.
-- Reads its parameters from pg_temp.demo_params (p).
INSERT INTO public.reservations (guest_id, branch_id, reserved_for, created_at, party_size, notes, cancelled_at)
SELECT g.id, g.branch_id, r.created_at + (1 + pg_temp.demo_rand(g.id, 32, p.seed) * 60) * interval '1 day',
       r.created_at, 1 + (pg_temp.demo_rand(g.id, 33, p.seed) * 8)::int,
       CASE WHEN pg_temp.demo_rand(g.id, 34, p.seed) < 0.2 THEN 'Fensterplatz, Geburtstag' END,
       CASE WHEN pg_temp.demo_rand(g.id, 35, p.seed) < 0.1 THEN r.created_at + interval '1 day' END
FROM pg_temp.demo_params p
CROSS JOIN public.guests g
CROSS JOIN LATERAL (
    SELECT CASE WHEN pg_temp.demo_rand(g.id, 36, p.seed) < 0.1
                THEN p.anchor - (pg_temp.demo_rand(g.id, 37, p.seed) * 20) * interval '1 day'
                ELSE least(p.anchor - interval '70 days',
                           g.created_at + (pg_temp.demo_rand(g.id, 31, p.seed) * 365) * interval '1 day')
           END AS created_at
) r
WHERE pg_temp.demo_rand(g.id, 30, p.seed) < 0.30
