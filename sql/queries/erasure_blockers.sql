-- What blocks erasing a guest now: unpaid invoices, reservations to come.
-- $1 guest id, $2 now
SELECT (SELECT count(*) FROM public.invoices
        WHERE guest_id = $1::bigint AND paid_at IS NULL) AS unpaid_invoices,
       (SELECT count(*) FROM public.reservations
        WHERE guest_id = $1::bigint AND cancelled_at IS NULL
          AND reserved_for > $2::timestamptz) AS upcoming_reservations,
       (SELECT min(reserved_for) FROM public.reservations
        WHERE guest_id = $1::bigint AND cancelled_at IS NULL
          AND reserved_for > $2::timestamptz) AS next_reservation
