-- Newsletter subscriptions: every newsletter-only guest, and 25 % of the
-- others, of whom a third have unsubscribed since.
-- Reads its parameters from pg_temp.demo_params (p).
INSERT INTO public.newsletter_subscriptions (guest_id, email, subscribed_at, unsubscribed_at)
SELECT g.id, g.email, g.created_at + (pg_temp.demo_rand(g.id, 41, p.seed) * 30) * interval '1 day',
       CASE WHEN pg_temp.demo_rand(g.id, 10, p.seed) >= 0.10 AND pg_temp.demo_rand(g.id, 42, p.seed) < 0.33
            THEN g.created_at + (31 + pg_temp.demo_rand(g.id, 43, p.seed) * 300) * interval '1 day' END
FROM pg_temp.demo_params p
CROSS JOIN public.guests g
WHERE pg_temp.demo_rand(g.id, 10, p.seed) < 0.10 OR pg_temp.demo_rand(g.id, 40, p.seed) < 0.25
