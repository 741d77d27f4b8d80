-- Export: the guest's invoices (the PDFs are files of their own). $1 guest id
SELECT id::text, sale_id::text, number, issued_at::text, paid_at::text,
       CASE WHEN pdf IS NOT NULL THEN 'invoices/' || id || '.pdf' END AS pdf
FROM public.invoices WHERE guest_id = $1::bigint ORDER BY issued_at, id
