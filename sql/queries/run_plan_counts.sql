-- What each plan will do, per guest type.
-- $1 bigint[]: plan ids
SELECT plan_id, guest_type, count(*) AS guests,
       count(*) FILTER (WHERE anonymize) AS anonymize,
       count(*) FILTER (WHERE anonymize AND newsletter_active) AS unsubscribe,
       count(*) FILTER (WHERE erase_fiscal) AS erase_fiscal
FROM retention.run_candidates
WHERE plan_id = ANY ($1::bigint[])
GROUP BY plan_id, guest_type
