-- The pending report ("Löschhinweise"): what is overdue or due within the
-- window, per guest and action, and what is blocked or not configured.

-- The status of one action of a guest at the report's instant `at`, for a
-- window ending at `until`: not_configured (no period), NULL (retained
-- beyond the window: not in the report), blocked, overdue, or due_soon.
CREATE OR REPLACE FUNCTION retention.pending_status(
    deadline timestamptz, blocked_reason text, at timestamptz, until timestamptz
) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT CASE WHEN $1 IS NULL THEN 'not_configured'
                WHEN $1 > $4 THEN NULL
                WHEN $2 IS NOT NULL THEN 'blocked'
                WHEN $1 <= $3 THEN 'overdue'
                ELSE 'due_soon'
           END;
END;

-- The head of the pending report's two queries (pending_counts.sql,
-- pending_guests.sql): every guest with something ahead and the status of
-- each of its two actions at the report's instant, on the scan path. A
-- set-returning SQL function that the planner inlines like a subquery.
-- at: the report's instant, from the caller's clock; until: end of the
-- window; branches: the branches to report, NULL for all.
-- The OFFSET 0 keeps the classification a subquery of its own: each deadline
-- is computed once per guest, not once for every reference in the CASEs
-- (inlined, the report cost 1.7x the classification itself).
CREATE OR REPLACE FUNCTION retention.pending_items(at timestamptz, until timestamptz, branches bigint[])
RETURNS TABLE (
    guest_id bigint, branch_id bigint, time_zone text, guest_type text,
    newsletter_active boolean, personal_deadline timestamptz, fiscal_deadline timestamptz,
    blocked_reason text, personal_status text, fiscal_status text
)
LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT c.guest_id, c.branch_id, c.time_zone, c.guest_type, c.newsletter_active,
           c.personal_deadline, c.fiscal_deadline, c.blocked_reason,
           CASE WHEN c.anonymized_at IS NULL
                THEN retention.pending_status(c.personal_deadline, c.blocked_reason, $1, $2)
           END,
           CASE WHEN c.guest_type = 'company_guest' AND c.fiscal_erased_at IS NULL
                THEN retention.pending_status(c.fiscal_deadline, c.blocked_reason, $1, $2)
           END
    FROM (
        SELECT * FROM retention.guest_classification_scan c
        WHERE retention.work_left(c.anonymized_at, c.fiscal_erased_at, c.has_company)
          AND ($3 IS NULL OR c.branch_id = ANY ($3))
        OFFSET 0
    ) c;
END;
