-- Lists the candidates of one branch once per run, under a plan id: the
-- guests with something due at the run's cut-off, and what: anonymize
-- (personal deadline passed) and/or erase_fiscal (a company guest's fiscal
-- deadline passed). "Due" is retention.anonymize_due / fiscal_erasure_due
-- (migration 8), the same test the batch re-checks under the row lock.
-- Blocked guests are never candidates.
-- $1 bigint: branch, $2 timestamptz: the run's cut-off, $3 bigint: plan id
INSERT INTO retention.run_candidates
    (plan_id, guest_id, branch_id, guest_type, anonymize, erase_fiscal, newsletter_active)
SELECT $3::bigint, d.guest_id, d.branch_id, d.guest_type, d.anonymize, d.erase_fiscal,
       d.newsletter_active
FROM (
    SELECT c.guest_id, c.branch_id, c.guest_type, c.newsletter_active,
           retention.anonymize_due(c.anonymized_at, c.personal_deadline, $2) AS anonymize,
           retention.fiscal_erasure_due(c.guest_type, c.fiscal_erased_at, c.fiscal_deadline, $2)
               AS erase_fiscal
    FROM retention.guest_classification c
    WHERE c.branch_id = $1::bigint
      AND c.blocked_reason IS NULL
      AND (c.anonymized_at IS NULL OR (c.fiscal_erased_at IS NULL AND c.has_company))
    OFFSET 0 -- classify each guest once (see migration 8, pending_items)
) d
WHERE d.anonymize OR d.erase_fiscal
