-- Whether a branch's pending summary of a local day has been decided.
-- $1 bigint: branch, $2 date: local day
SELECT EXISTS (SELECT 1 FROM retention.pending_snapshots
               WHERE branch_id = $1::bigint AND local_date = $2::date)
