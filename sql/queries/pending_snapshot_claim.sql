-- Claims a branch's pending summary of a local day (one per day, across
-- restarts and several daemons); 0 rows when another claimed it first.
-- $1 bigint: branch, $2 date: local day, $3 timestamptz: now, $4 bigint:
-- overdue, $5 bigint: due soon
INSERT INTO retention.pending_snapshots (branch_id, local_date, taken_at, overdue, due_soon)
VALUES ($1::bigint, $2::date, $3::timestamptz, $4::bigint, $5::bigint)
ON CONFLICT DO NOTHING
