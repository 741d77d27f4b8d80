-- What blocks erasing each guest now: legal holds (the guest's or its
-- branch's), unpaid invoices, reservations to come.
-- $1 bigint[] guest ids, $2 now
SELECT g.id AS guest_id,
       (SELECT coalesce(array_agg(h.id ORDER BY h.id), '{}') FROM retention.legal_holds h
        WHERE h.released_at IS NULL
          AND (h.guest_id = g.id
               OR h.branch_id = (SELECT x.branch_id FROM public.guests x WHERE x.id = g.id)))
           AS holds,
       (SELECT count(*) FROM public.invoices
        WHERE guest_id = g.id AND paid_at IS NULL) AS unpaid_invoices,
       r.upcoming_reservations, r.next_reservation
FROM unnest($1::bigint[]) AS g (id)
CROSS JOIN LATERAL (
    SELECT count(*) AS upcoming_reservations, min(reserved_for) AS next_reservation
    FROM public.reservations
    WHERE guest_id = g.id AND cancelled_at IS NULL AND reserved_for > $2::timestamptz
) r
