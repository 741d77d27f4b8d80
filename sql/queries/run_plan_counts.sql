-- What a plan will do, per guest type.
-- $1 bigint: plan id
SELECT guest_type,
       count(*) FILTER (WHERE anonymize) AS anonymize,
       count(*) FILTER (WHERE anonymize AND newsletter_active) AS unsubscribe,
       count(*) FILTER (WHERE erase_fiscal) AS erase_fiscal
FROM retention.run_candidates
WHERE plan_id = $1
GROUP BY guest_type
