-- The anonymizations, newsletter unsubscriptions and fiscal erasures of a
-- report's year, per month of the report's time zone, action and guest type.
-- $1 timestamptz: from (inclusive), $2 timestamptz: until (exclusive),
-- $3 text: the report's time zone, $4 bigint: branch or NULL
SELECT extract(month FROM p.at AT TIME ZONE $3::text)::integer AS month, p.action, p.guest_type,
       count(*) AS rows
FROM retention.action_protocol p
WHERE p.at >= $1::timestamptz AND p.at < $2::timestamptz
  AND p.action IN ('guest_anonymized', 'newsletter_unsubscribed', 'fiscal_data_erased')
  AND ($4::bigint IS NULL OR p.branch_id = $4::bigint)
GROUP BY 1, 2, 3
ORDER BY 1, 2, 3
