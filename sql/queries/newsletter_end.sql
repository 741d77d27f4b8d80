-- Ends a guest's active newsletter subscription (an erasure request stops
-- all mail at once).
-- $1 bigint: guest, $2 timestamptz: now
UPDATE public.newsletter_subscriptions SET unsubscribed_at = $2::timestamptz
WHERE guest_id = $1::bigint AND unsubscribed_at IS NULL
