-- Of these guests: which exist, which are not anonymized, and when each
-- was created (a guest created after an approval is not the one approved).
SELECT i.id, g.id IS NOT NULL AS present, g.anonymized_at IS NULL AS personal, g.created_at
FROM unnest($1::bigint[]) AS i (id)
LEFT JOIN public.guests g ON g.id = i.id
