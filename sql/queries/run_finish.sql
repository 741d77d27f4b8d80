-- Records how a run ended.
-- $1 run id, $2 status, $3 counts, $4 remaining, $5 held, $6 error, $7 end,
-- $8 counts per branch
UPDATE retention.runs
SET status = $2::text, counts = $3::jsonb, remaining = $4::bigint, held = $5::jsonb,
    error = $6::text, finished_at = $7::timestamptz,
    branch_counts = $8::jsonb
WHERE id = $1::bigint AND status = 'running'
