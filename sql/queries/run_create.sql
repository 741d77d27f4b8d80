-- Records a new run; for a scheduled run this claims its branch's night, and
-- returns nothing when that night is already claimed by another run.
-- $1 kind, $2 actor, $3 branches, $4 night branch (scheduled), $5 night
-- (scheduled), $6 cut-off, $7 start
INSERT INTO retention.runs (kind, actor, branches, night_branch_id, night, cutoff, started_at)
VALUES ($1::text, $2::text, $3::bigint[], $4::bigint, $5::date, $6::timestamptz, $7::timestamptz)
ON CONFLICT (night_branch_id, night) WHERE retention.run_claims_night(status) DO NOTHING
RETURNING id
