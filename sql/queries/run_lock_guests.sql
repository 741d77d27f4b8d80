-- Locks the batch's guests that nobody else holds. A POS transaction that
-- inserts a sale or reservation for a guest holds a key-share lock on it, so
-- such a guest is skipped here, and once locked here no new activity can be
-- recorded for it until the batch commits.
-- $1 bigint[]: guest ids
SELECT id
FROM public.guests
WHERE id = ANY ($1::bigint[])
ORDER BY id
FOR UPDATE SKIP LOCKED
