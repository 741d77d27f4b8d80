-- Lists the candidates of all the run's branches in one pass over the scan
-- path (hash aggregates), each branch under its own plan id: the guests with
-- something due at the run's cut-off, and what: anonymize (personal
-- deadline passed) and/or erase_fiscal (a company guest's fiscal deadline
-- passed). "Due" is retention.anonymize_due / fiscal_erasure_due
-- (sql/rules/guest_rules.sql), the same test the batch re-checks under the
-- row lock.
-- Blocked guests are never candidates.
-- $1 bigint[]: branches, $2 bigint[]: their plan ids (same order),
-- $3 timestamptz: the run's cut-off
INSERT INTO retention.run_candidates
    (plan_id, guest_id, branch_id, guest_type, anonymize, erase_fiscal, newsletter_active)
SELECT p.plan_id, d.guest_id, d.branch_id, d.guest_type, d.anonymize, d.erase_fiscal,
       d.newsletter_active
FROM (
    SELECT c.guest_id, c.branch_id, c.guest_type, c.newsletter_active, c.blocked_reason,
           retention.anonymize_due(c.anonymized_at, c.personal_deadline, $3) AS anonymize,
           retention.fiscal_erasure_due(c.guest_type, c.fiscal_erased_at, c.fiscal_deadline, $3)
               AS erase_fiscal
    FROM retention.guest_classification_scan c
    WHERE c.branch_id = ANY ($1::bigint[])
      AND retention.work_left(c.anonymized_at, c.fiscal_erased_at, c.has_company)
    OFFSET 0 -- classify each guest once (see sql/rules/pending.sql)
) d
JOIN unnest($1::bigint[], $2::bigint[]) AS p (branch_id, plan_id) ON p.branch_id = d.branch_id
-- outside the subquery: the planner cannot estimate a filter on the derived
-- blocker and would plan the whole scan for a handful of rows
WHERE (d.anonymize OR d.erase_fiscal) AND d.blocked_reason IS NULL
