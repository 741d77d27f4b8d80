-- Every guest with something ahead, and the status of each of its two
-- actions at the report's instant: anonymize (personal data) and
-- erase_fiscal (a company guest's fiscal data). NULL: nothing in the window.
-- (Shared head of pending_counts.sql and pending_guests.sql.)
-- The OFFSET 0 keeps the classification a subquery of its own: each deadline
-- is computed once per guest, not once for every reference in the CASEs
-- below (inlined, the report cost 1.7x the classification itself).
-- $1 timestamptz: the report's instant, from the clock
-- $2 timestamptz: end of the window ($1 + within)
-- $3 bigint[]: branches to report, NULL for all
WITH items AS (
    SELECT c.guest_id, c.branch_id, c.time_zone, c.guest_type, c.newsletter_active,
           c.personal_deadline, c.fiscal_deadline, c.blocked_reason,
           CASE WHEN c.anonymized_at IS NULL THEN
               CASE WHEN c.personal_deadline IS NULL THEN 'not_configured'
                    WHEN c.personal_deadline > $2 THEN NULL -- retained beyond the window
                    WHEN c.blocked_reason IS NOT NULL THEN 'blocked'
                    WHEN c.personal_deadline <= $1 THEN 'overdue'
                    ELSE 'due_soon' END
           END AS personal_status,
           CASE WHEN c.guest_type = 'company_guest' AND c.fiscal_erased_at IS NULL THEN
               CASE WHEN c.fiscal_deadline IS NULL THEN 'not_configured'
                    WHEN c.fiscal_deadline > $2 THEN NULL
                    WHEN c.blocked_reason IS NOT NULL THEN 'blocked'
                    WHEN c.fiscal_deadline <= $1 THEN 'overdue'
                    ELSE 'due_soon' END
           END AS fiscal_status
    FROM (
        SELECT * FROM retention.guest_classification c
        -- guests with something left to do: not anonymized, or company data still kept
        WHERE (c.anonymized_at IS NULL OR (c.fiscal_erased_at IS NULL AND c.has_company))
          AND ($3::bigint[] IS NULL OR c.branch_id = ANY ($3))
        OFFSET 0
    ) c
)
