-- The pending report's counts in plain SQL (benchmarks): per branch, type,
-- both statuses, blocker and local due day, at :'at' with the window up to
-- :'until'.
\ir baseline_classify.sql
SELECT branch_id, gtype, ps, fs,
       CASE WHEN 'blocked' IN (ps, fs) AND unpaid > 0 THEN 'unpaid_invoice' END AS reason,
       CASE WHEN ps = 'due_soon' THEN (pdl AT TIME ZONE time_zone)::date END AS pday,
       CASE WHEN fs = 'due_soon' THEN (fdl AT TIME ZONE time_zone)::date END AS fday,
       count(*), count(*) FILTER (WHERE nl_active AND ps IN ('overdue', 'due_soon'))
FROM (
    SELECT f.*,
           CASE WHEN anonymized_at IS NULL THEN
               CASE WHEN pdl IS NULL THEN 'not_configured' WHEN pdl > :'until' THEN NULL
                    WHEN unpaid > 0 THEN 'blocked' WHEN pdl <= :'at' THEN 'overdue'
                    ELSE 'due_soon' END END AS ps,
           CASE WHEN gtype = 'company_guest' AND fiscal_erased_at IS NULL THEN
               CASE WHEN fdl IS NULL THEN 'not_configured' WHEN fdl > :'until' THEN NULL
                    WHEN unpaid > 0 THEN 'blocked' WHEN fdl <= :'at' THEN 'overdue'
                    ELSE 'due_soon' END END AS fs
    FROM facts f
) x
WHERE ps IS NOT NULL OR fs IS NOT NULL
GROUP BY 1, 2, 3, 4, 5, 6, 7;
