-- Of these guests: which exist, and which are not anonymized.
SELECT i.id, g.id IS NOT NULL AS present, g.anonymized_at IS NULL AS personal
FROM unnest($1::bigint[]) AS i (id)
LEFT JOIN public.guests g ON g.id = i.id
