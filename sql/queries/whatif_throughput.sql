-- Guests anonymized per second of run time over the newest completed runs
-- (NULL before the first): what a what-if's "nights needed" is based on.
SELECT (sum(r.anonymized) / nullif(sum(extract(epoch FROM r.finished_at - r.started_at)), 0))::float8
           AS per_second
FROM (
    SELECT x.finished_at, x.started_at,
           (SELECT coalesce(sum(v.value::bigint), 0)
            FROM jsonb_each_text(coalesce(x.counts -> 'guest_anonymized', '{}')) AS v) AS anonymized
    FROM retention.runs x
    WHERE x.status = 'completed' AND x.finished_at IS NOT NULL
    ORDER BY x.id DESC
    LIMIT 10
) r
WHERE r.anonymized > 0
