-- Whether a branch's night has been run, and how many attempts failed.
-- $1 branch id, $2 night
SELECT count(*) FILTER (WHERE status NOT IN ('failed', 'interrupted')) AS claimed,
       count(*) FILTER (WHERE status = 'failed') AS failed
FROM retention.runs
WHERE night_branch_id = $1::bigint AND night = $2::date
