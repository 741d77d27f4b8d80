-- Candidates of a plan not reached yet (keyset position).
-- $1 bigint: plan id, $2 bigint: last guest id done
SELECT count(*) FROM retention.run_candidates WHERE plan_id = $1::bigint AND guest_id > $2::bigint
