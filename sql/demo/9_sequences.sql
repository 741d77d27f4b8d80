-- Identity sequences continue after the generated ids.
SELECT setval(pg_get_serial_sequence('public.' || t, 'id'), greatest(m, 1))
FROM (VALUES
    ('branches', (SELECT max(id) FROM public.branches)),
    ('guests', (SELECT max(id) FROM public.guests)),
    ('sales', (SELECT max(id) FROM public.sales)),
    ('reservations', (SELECT max(id) FROM public.reservations)),
    ('invoices', (SELECT max(id) FROM public.invoices)),
    ('customer_cards', (SELECT max(id) FROM public.customer_cards))
) v (t, m)
