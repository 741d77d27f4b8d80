-- Claims a branch's pending summary of a local date: a row when this caller
-- took it. $1 branch, $2 local date, $3 taken at, $4 overdue, $5 due soon
SELECT c.n
FROM retention_api.pending_snapshot_claim($1::bigint, $2::date, $3::timestamptz, $4::bigint,
                                          $5::bigint) AS c (n)
WHERE c.n > 0
