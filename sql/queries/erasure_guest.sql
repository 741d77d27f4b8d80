-- The guest of a new erasure request, with its branch, type and whether it
-- is anonymized already (retention_api.erasure_request checks again).
-- $1 bigint: guest
SELECT g.branch_id, g.anonymized_at IS NOT NULL AS anonymized, c.guest_type
FROM public.guests g
JOIN retention.guest_classification c ON c.guest_id = g.id
WHERE g.id = $1::bigint
