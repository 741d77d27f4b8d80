-- What blocks erasing each guest now: unpaid invoices, reservations to come.
-- $1 bigint[] guest ids, $2 now
SELECT g.id AS guest_id,
       (SELECT count(*) FROM public.invoices
        WHERE guest_id = g.id AND paid_at IS NULL) AS unpaid_invoices,
       r.upcoming_reservations, r.next_reservation
FROM unnest($1::bigint[]) AS g (id)
CROSS JOIN LATERAL (
    SELECT count(*) AS upcoming_reservations, min(reserved_for) AS next_reservation
    FROM public.reservations
    WHERE guest_id = g.id AND cancelled_at IS NULL AND reserved_for > $2::timestamptz
) r
