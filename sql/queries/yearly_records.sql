-- The protocol rows of some actions in a report's year, oldest first,
-- without guest ids: exports (export_created), policy and settings changes.
-- $1 timestamptz: from (inclusive), $2 timestamptz: until (exclusive),
-- $3 bigint: branch or NULL, $4 text[]: the actions
SELECT p.id, p.at, p.action, p.actor, p.details ->> 'login' AS login, p.branch_id, p.guest_type,
       p.details - 'login' AS details
FROM retention.action_protocol p
WHERE p.at >= $1::timestamptz AND p.at < $2::timestamptz
  AND p.action = ANY ($4::text[])
  AND ($3::bigint IS NULL OR p.branch_id = $3::bigint)
ORDER BY p.at, p.id
