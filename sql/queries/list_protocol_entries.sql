-- Lists protocol rows, oldest first, limited to the newest $5.
-- $1 branch_id or NULL, $2 guest_id or NULL, $3 since or NULL, $4 action or NULL, $5 limit
SELECT * FROM (
    SELECT id, at, actor, action, branch_id, guest_id, guest_type, run_id, details
    FROM retention.action_protocol
    WHERE ($1::bigint IS NULL OR branch_id = $1)
      AND ($2::bigint IS NULL OR guest_id = $2)
      AND ($3::timestamptz IS NULL OR at >= $3)
      AND ($4::text IS NULL OR action = $4)
    ORDER BY id DESC
    LIMIT $5
) newest
ORDER BY id
