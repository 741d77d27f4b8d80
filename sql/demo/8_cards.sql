-- Customer cards for 10 % of guests.
-- Reads its parameters from pg_temp.demo_params (p).
INSERT INTO public.customer_cards (guest_id, card_number, valid)
SELECT g.id, 'K' || lpad(g.id::text, 10, '0'), pg_temp.demo_rand(g.id, 61, p.seed) >= 0.05
FROM pg_temp.demo_params p
CROSS JOIN public.guests g
WHERE pg_temp.demo_rand(g.id, 60, p.seed) < 0.10
