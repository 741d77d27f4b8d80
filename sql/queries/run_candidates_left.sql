-- Candidates of a run's lists not reached yet.
-- $1 bigint[]: plan ids, $2 bigint: guest id done
SELECT count(*)
FROM retention.run_candidates
WHERE plan_id = ANY ($1::bigint[]) AND guest_id > $2::bigint
