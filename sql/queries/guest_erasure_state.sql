-- After an approved erasure: whether the guest is anonymized, and whether
-- company data stays until its fiscal deadline.
-- $1 bigint: guest
SELECT anonymized_at IS NOT NULL AS anonymized,
       retention.has_company(company) AND fiscal_erased_at IS NULL AS fiscal_kept
FROM public.guests
WHERE id = $1::bigint
