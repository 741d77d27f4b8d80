-- Export: the guest's customer cards. $1 guest id
SELECT id::text, card_number, valid::text
FROM public.customer_cards WHERE guest_id = $1::bigint ORDER BY id
