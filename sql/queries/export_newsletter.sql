-- Export: the guest's newsletter subscription. $1 guest id
SELECT email, subscribed_at::text, unsubscribed_at::text
FROM public.newsletter_subscriptions WHERE guest_id = $1::bigint
