-- Of these guests: which exist, which are not anonymized, and when each
-- was created (its mark tells it from a guest that took the id again).
SELECT i.id, g.id IS NOT NULL AS present, g.anonymized_at IS NULL AS personal,
       retention.readable_time(g.created_at) AS created_at
FROM unnest($1::bigint[]) AS i (id)
LEFT JOIN public.guests g ON g.id = i.id
