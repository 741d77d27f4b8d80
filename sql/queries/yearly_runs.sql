-- The runs that ended in a report's year, from their protocol rows: the
-- run_finished row (status, guests anonymized, guests still due) and the
-- run's run_started row (kind, the night of a scheduled run), which may
-- be of the year before.
-- $1 timestamptz: from (inclusive), $2 timestamptz: until (exclusive),
-- $3 bigint: branch or NULL (a run over several branches has none)
SELECT f.run_id, f.branch_id, s.at AS started_at, f.at AS finished_at,
       s.details ->> 'kind' AS kind, (s.details ->> 'night')::date AS night,
       f.details ->> 'status' AS status,
       coalesce((f.details ->> 'remaining')::bigint, 0) AS remaining,
       (SELECT coalesce(sum(n.value::bigint), 0)
        FROM pg_catalog.jsonb_each_text(coalesce(f.details -> 'counts' -> 'guest_anonymized',
                                                 '{}'::jsonb)) n)::bigint AS anonymized
FROM retention.action_protocol f
LEFT JOIN retention.action_protocol s ON s.run_id = f.run_id AND s.action = 'run_started'
WHERE f.action = 'run_finished'
  AND f.at >= $1::timestamptz AND f.at < $2::timestamptz
  AND ($3::bigint IS NULL OR f.branch_id = $3::bigint)
ORDER BY f.at, f.id
