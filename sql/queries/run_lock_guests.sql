-- Locks a batch's guests that nobody else holds, and their child rows whose
-- update would extend retention, in the caller's transaction; returns the
-- locked guest ids. The re-check runs afterwards in a statement of its own,
-- so that its snapshot sees everything committed before these locks.
--
-- Guests: FOR UPDATE SKIP LOCKED. A POS transaction that inserts a sale or
-- reservation for a guest holds a key-share lock on it, so such a guest is
-- skipped here, and once locked here no new activity can be recorded for it
-- until the batch commits.
-- Reservations and newsletter subscriptions: FOR SHARE, waiting (up to the
-- batch's lock_timeout) for a running update such as a rescheduled or
-- un-cancelled reservation or a re-subscription, which then keeps its guest.
-- $1 bigint[]: guest ids
WITH locked AS MATERIALIZED (
    SELECT id FROM public.guests
    WHERE id = ANY ($1::bigint[])
    ORDER BY id
    FOR UPDATE SKIP LOCKED
),
reservations AS MATERIALIZED (
    SELECT 1 FROM public.reservations
    WHERE guest_id = ANY (ARRAY(SELECT id FROM locked))
    FOR SHARE
),
subscriptions AS MATERIALIZED (
    SELECT 1 FROM public.newsletter_subscriptions
    WHERE guest_id = ANY (ARRAY(SELECT id FROM locked))
    FOR SHARE
)
-- A CTE that the result does not reference is never run, and its locks
-- never taken: the always-true condition references both, so both run
-- (to completion) before the ids are returned.
SELECT id FROM locked
WHERE (SELECT count(*) FROM reservations) + (SELECT count(*) FROM subscriptions) >= 0
ORDER BY id
