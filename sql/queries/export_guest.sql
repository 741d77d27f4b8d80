-- Export: the guest row, every column as text. $1 guest id
SELECT id::text, branch_id::text, first_name, last_name, email, phone, street, zip, city,
       birthday::text, notes, company, vat_id, economic_id, verified::text, created_at::text,
       profile_updated_at::text, anonymized_at::text, fiscal_erased_at::text
FROM public.guests WHERE id = $1::bigint
