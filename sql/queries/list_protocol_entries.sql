-- Lists protocol rows, oldest first; with a limit, the newest $5 of them
-- (NULL: all). Streamed by the caller.
-- $1 bigint: branch or NULL, $2 bigint: guest or NULL, $3 timestamptz:
-- since (inclusive) or NULL, $4 text: action or NULL, $5 bigint: limit or
-- NULL, $6 timestamptz: until (exclusive) or NULL
-- `total` counts the rows the limit let through (at most limit + 1 when the
-- caller asks for one more to see whether anything was cut).
SELECT newest.*, count(*) OVER () AS total FROM (
    SELECT id, at, actor, action, branch_id, guest_id, guest_type, run_id, details
    FROM retention.action_protocol
    WHERE ($1::bigint IS NULL OR branch_id = $1)
      AND ($2::bigint IS NULL OR guest_id = $2)
      AND ($3::timestamptz IS NULL OR at >= $3)
      AND ($4::text IS NULL OR action = $4)
      AND ($6::timestamptz IS NULL OR at < $6)
    ORDER BY id DESC
    LIMIT $5::bigint
) newest
ORDER BY id
