-- Runs still marked running for a branch whose lock the caller now holds
-- were ended by a crash, a kill or a lost connection: a live run keeps the
-- locks of all its branches until it ends. Each is recorded with what it
-- committed, counted from its protocol rows (every batch commits its
-- changes and their rows together), and gets its `run_finished` row
-- (status interrupted, marked stale).
-- $1 bigint: branch, $2 timestamptz: now, $3 text: the daemon's actor
WITH dead AS MATERIALIZED (
    SELECT r.id FROM retention.runs r
    WHERE r.status = 'running' AND $1::bigint = ANY (r.branches)
    FOR UPDATE
),
-- guests per run, branch, action and type, from the run's protocol rows
done AS MATERIALIZED (
    SELECT p.run_id, p.branch_id, p.action, p.guest_type, count(*) AS guests
    FROM retention.action_protocol p
    WHERE p.run_id IN (SELECT id FROM dead)
      AND p.action IN ('guest_anonymized', 'newsletter_unsubscribed', 'fiscal_data_erased')
    GROUP BY 1, 2, 3, 4
),
-- {"action": {"type": guests}} per run, and the same per branch
per_action AS (
    SELECT d.run_id, d.branch_id, d.action, jsonb_object_agg(d.guest_type, d.guests) AS types,
           sum(d.guests) AS guests
    FROM done d GROUP BY 1, 2, 3
),
per_run AS (
    SELECT a.run_id, jsonb_object_agg(a.action, a.types) AS counts
    FROM (SELECT x.run_id, x.action, jsonb_object_agg(x.guest_type, x.guests) AS types
          FROM (SELECT run_id, action, guest_type, sum(guests) AS guests
                FROM done GROUP BY 1, 2, 3) x
          GROUP BY 1, 2) a
    GROUP BY 1
),
per_branch AS (
    SELECT b.run_id, jsonb_object_agg(b.branch_id::text, b.actions) AS branch_counts
    FROM (SELECT run_id, branch_id, jsonb_object_agg(action, types) AS actions
          FROM per_action GROUP BY 1, 2) b
    GROUP BY 1
),
stale AS (
    UPDATE retention.runs r
    SET status = 'interrupted', finished_at = $2::timestamptz,
        counts = coalesce((SELECT c.counts FROM per_run c WHERE c.run_id = r.id), '{}'),
        branch_counts = coalesce((SELECT c.branch_counts FROM per_branch c WHERE c.run_id = r.id),
                                 '{}'),
        error = 'the run ended without finishing (process killed or database connection lost); '
                'guests it did not reach are left for the next run'
    WHERE r.id IN (SELECT id FROM dead)
    RETURNING r.id, r.branches, r.counts
),
logged AS (
    INSERT INTO retention.action_protocol (at, actor, action, branch_id, run_id, details)
    SELECT $2::timestamptz, $3::text, 'run_finished',
           CASE WHEN cardinality(s.branches) = 1 THEN s.branches[1] END, s.id,
           jsonb_build_object('status', 'interrupted', 'stale', true, 'found_by_branch', $1::bigint,
                              'counts', s.counts)
    FROM stale s
    RETURNING run_id
)
SELECT run_id FROM logged
