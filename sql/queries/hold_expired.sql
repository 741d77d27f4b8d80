-- Legal holds in force whose date has passed (in the branch's time zone,
-- the guest's branch for a guest's hold): someone must release or renew
-- them. $1 now
SELECT h.id, h.guest_id, coalesce(h.branch_id, g.branch_id) AS branch_id, h.until
FROM retention.legal_holds h
LEFT JOIN public.guests g ON g.id = h.guest_id
LEFT JOIN public.branches b ON b.id = coalesce(h.branch_id, g.branch_id)
WHERE h.released_at IS NULL AND h.until IS NOT NULL
  AND h.until < ($1::timestamptz AT TIME ZONE coalesce(b.time_zone, 'UTC'))::date
ORDER BY h.id
