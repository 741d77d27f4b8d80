-- Stores the candidates of one branch under a plan id, once per run.
-- $3 bigint: plan id; the candidate SELECT (run_candidates_select.sql) follows.
INSERT INTO retention.run_candidates
    (plan_id, guest_id, branch_id, guest_type, anonymize, erase_fiscal, newsletter_active)
SELECT $3::bigint, x.* FROM (
