-- An invoice with a PDF for every sale of a company guest; 3 % unpaid.
-- Reads its parameters from pg_temp.demo_params (p).
INSERT INTO public.invoices (guest_id, sale_id, number, issued_at, pdf, paid_at)
SELECT s.guest_id, s.id, 'R-' || lpad(s.id::text, 9, '0'), s.sold_at,
       convert_to('%PDF-1.4 demo invoice ' || s.id, 'UTF8'),
       CASE WHEN pg_temp.demo_rand(s.id, 50, p.seed) >= 0.03 THEN s.sold_at + interval '10 days' END
FROM pg_temp.demo_params p
CROSS JOIN public.sales s
JOIN public.guests g ON g.id = s.guest_id
WHERE g.company IS NOT NULL AND btrim(g.company) <> ''
