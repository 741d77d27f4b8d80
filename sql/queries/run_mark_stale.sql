-- Runs still marked running for a branch whose lock the caller now holds
-- were ended by a crash, a kill or a lost connection: a live run keeps the
-- locks of all its branches until it ends. Each gets its `run_finished`
-- protocol row (status interrupted, marked stale).
-- $1 bigint: branch, $2 timestamptz: now, $3 text: the daemon's actor
WITH stale AS (
    UPDATE retention.runs
    SET status = 'interrupted', finished_at = $2::timestamptz,
        error = 'the run ended without finishing (process killed or database connection lost); '
                'guests it did not reach are left for the next run'
    WHERE status = 'running' AND $1::bigint = ANY (branches)
    RETURNING id, branches
),
logged AS (
    INSERT INTO retention.action_protocol (at, actor, action, branch_id, run_id, details)
    SELECT $2::timestamptz, $3::text, 'run_finished',
           CASE WHEN cardinality(s.branches) = 1 THEN s.branches[1] END, s.id,
           jsonb_build_object('status', 'interrupted', 'stale', true, 'found_by_branch', $1::bigint)
    FROM stale s
    RETURNING run_id
)
SELECT run_id FROM logged
