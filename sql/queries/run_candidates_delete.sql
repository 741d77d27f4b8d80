-- Removes the candidate lists of a run that has ended or was abandoned.
-- $1 bigint[]: plan ids
DELETE FROM retention.run_candidates WHERE plan_id = ANY ($1::bigint[])
