-- Records a run's end (retention_api.run_finish): a row when it was running.
-- $1 run, $2 status, $3 counts, $4 remaining, $5 held, $6 error, $7 finished, $8 branch counts
SELECT f.n
FROM retention_api.run_finish($1::bigint, $2::text, $3::jsonb, $4::bigint, $5::jsonb, $6::text,
                              $7::timestamptz, $8::jsonb) AS f (n)
WHERE f.n > 0
