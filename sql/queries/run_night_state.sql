-- Whether a branch's night is taken, and how many attempts ended without
-- finishing (sql/rules/runs.sql: a run holds its night while its status
-- claims it and, if still running, it is alive).
-- $1 bigint: branch, $2 date: night
SELECT count(*) FILTER (WHERE retention.run_holds_night(status, branches)) AS claimed,
       count(*) FILTER (WHERE NOT retention.run_claims_night(status)) AS failed
FROM retention.runs
WHERE night_branch_id = $1::bigint AND night = $2::date
