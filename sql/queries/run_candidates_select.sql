-- The guests of one branch with something due at the run's cut-off, and
-- what: anonymize (personal deadline passed) and/or erase_fiscal (a company
-- guest's fiscal deadline passed). Blocked guests are never candidates.
-- (Shared head of run_candidates_insert.sql and run_plan_preview.sql.)
-- $1 bigint: branch, $2 timestamptz: the run's cut-off
SELECT d.guest_id, d.branch_id, d.guest_type, d.anonymize, d.erase_fiscal, d.newsletter_active
FROM (
    SELECT c.guest_id, c.branch_id, c.guest_type, c.newsletter_active,
           coalesce(c.anonymized_at IS NULL AND c.personal_deadline <= $2, false) AS anonymize,
           coalesce(c.guest_type = 'company_guest' AND c.fiscal_erased_at IS NULL
                    AND c.fiscal_deadline <= $2, false) AS erase_fiscal
    FROM retention.guest_classification c
    WHERE c.branch_id = $1::bigint
      AND c.blocked_reason IS NULL
      AND (c.anonymized_at IS NULL OR (c.fiscal_erased_at IS NULL AND c.has_company))
    OFFSET 0 -- classify each guest once (see pending_items.sql)
) d
WHERE d.anonymize OR d.erase_fiscal
