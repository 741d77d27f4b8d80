-- A branch's own period for a type, locked for the change that follows.
-- $1 bigint: branch, $2 text: guest type
SELECT period::text FROM retention.policies
WHERE branch_id = $1::bigint AND guest_type = $2::text
FOR UPDATE
