-- Runs still marked running for a branch whose lock the caller now holds
-- were ended by a crash, a kill or a lost connection: a live run keeps the
-- locks of all its branches until it ends.
-- $1 branch id, $2 now
WITH stale AS (
    UPDATE retention.runs
    SET status = 'interrupted', finished_at = $2::timestamptz,
        error = 'the run ended without finishing (process killed or database connection lost); '
                'guests it did not reach are left for the next run'
    WHERE status = 'running' AND $1::bigint = ANY (branches)
    RETURNING id
)
SELECT id FROM stale
