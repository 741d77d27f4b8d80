-- One invoice's PDF (read one at a time, so only one is ever in memory).
-- $1 bigint: invoice
SELECT pdf FROM public.invoices WHERE id = $1::bigint
