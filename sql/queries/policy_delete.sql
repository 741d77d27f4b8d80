-- Removes a branch's own period for a type; returns it when there was one.
-- $1 bigint: branch, $2 text: guest type
DELETE FROM retention.policies WHERE branch_id = $1::bigint AND guest_type = $2::text
RETURNING period::text
