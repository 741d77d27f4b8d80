-- Guests, spread over ten years before the anchor. Each guest's kind decides
-- what else it gets: 10 % newsletter only, 22 % no sale, 60 % with sales,
-- 8 % company with sales; 4 % are verified.
-- Reads its parameters from pg_temp.demo_params (p).
INSERT INTO public.guests (id, branch_id, first_name, last_name, email, phone, street, zip, city,
                           birthday, notes, company, vat_id, economic_id, verified, created_at,
                           profile_updated_at)
SELECT i,
       1 + (i - 1) % p.branches,
       fn, ln,
       lower(fn) || '.' || lower(ln) || i || '@example.com',
       '+49 ' || (150 + (i % 30)) || ' ' || lpad((i * 7919 % 10000000)::text, 7, '0'),
       (ARRAY['Hauptstraße', 'Bahnhofstraße', 'Gartenweg', 'Lindenallee', 'Am Markt'])[1 + (i % 5)]
           || ' ' || (1 + i % 120),
       lpad((10000 + i * 37 % 89999)::text, 5, '0'),
       (ARRAY['Hamburg', 'Wien', 'Lissabon', 'München', 'Köln', 'Graz', 'Porto', 'Bremen'])[1 + (i % 8)],
       date '1950-01-01' + (pg_temp.demo_rand(i, 2, p.seed) * 20000)::int,
       CASE WHEN pg_temp.demo_rand(i, 3, p.seed) < 0.1 THEN 'Allergie: Nüsse' END,
       CASE WHEN kind = 'company' THEN 'Firma ' || ln || ' GmbH'
            WHEN kind = 'sale' AND pg_temp.demo_rand(i, 4, p.seed) < 0.05 THEN '   ' END,
       CASE WHEN kind = 'company' THEN 'DE' || lpad((i * 104729 % 1000000000)::text, 9, '0') END,
       CASE WHEN kind = 'company' THEN 'DE' || lpad((i * 7907 % 1000000000)::text, 9, '0') || '-00001' END,
       pg_temp.demo_rand(i, 5, p.seed) < 0.04,
       created_at,
       CASE WHEN pg_temp.demo_rand(i, 6, p.seed) < 0.15
            THEN created_at + (pg_temp.demo_rand(i, 7, p.seed) * 365) * interval '1 day' END
FROM (
    SELECT i,
           (ARRAY['Anna', 'Jonas', 'Lena', 'Lukas', 'Marie', 'Felix', 'Sophie', 'Paul', 'João', 'Jürgen'])
               [1 + (pg_temp.demo_rand(i, 8, p.seed) * 10)::int % 10] AS fn,
           (ARRAY['Müller', 'Schmidt', 'Schneider', 'Fischer', 'Weber', 'Meyer', 'Wagner', 'Becker', 'Silva', 'Huber'])
               [1 + (pg_temp.demo_rand(i, 9, p.seed) * 10)::int % 10] AS ln,
           CASE WHEN pg_temp.demo_rand(i, 10, p.seed) < 0.10 THEN 'newsletter'
                WHEN pg_temp.demo_rand(i, 10, p.seed) < 0.32 THEN 'nosale'
                WHEN pg_temp.demo_rand(i, 10, p.seed) < 0.92 THEN 'sale'
                ELSE 'company' END AS kind,
           p.anchor - (pg_temp.demo_rand(i, 1, p.seed) * 3650) * interval '1 day' AS created_at
    FROM pg_temp.demo_params p
    CROSS JOIN LATERAL generate_series(1, p.guests) i
) g
CROSS JOIN pg_temp.demo_params p
