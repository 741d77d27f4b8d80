-- Export: the ids of the guest's invoices with a PDF (each PDF is read on
-- its own, so memory holds one PDF at a time). $1 guest id
SELECT id FROM public.invoices WHERE guest_id = $1::bigint AND pdf IS NOT NULL ORDER BY id
