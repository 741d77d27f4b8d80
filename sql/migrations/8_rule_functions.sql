-- The decisions that more than one statement needs, defined once here.
--
-- retention.anonymize_due and retention.fiscal_erasure_due are "due" for the
-- run's candidate listing (run_candidates_select.sql) and for the batch's
-- re-check under the row lock (run_apply_batch.sql); blocked guests are never
-- due, the callers filter them with the classification's blocked_reason.
-- Both are plain SQL expressions that the planner inlines, so they cost what
-- the expression costs and never hide an index from it.
--
-- retention.pending_items is the head of the pending report's two queries
-- (pending_counts.sql, pending_guests.sql): every guest with something
-- ahead and the status of each of its two actions at the report's instant.
-- A set-returning SQL function that the planner inlines like a subquery.

CREATE FUNCTION retention.anonymize_due(
    anonymized_at timestamptz, personal_deadline timestamptz, cutoff timestamptz
) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT coalesce($1 IS NULL AND $2 <= $3, false) $$;

COMMENT ON FUNCTION retention.anonymize_due(timestamptz, timestamptz, timestamptz) IS
    'Whether a guest''s personal data is due at the cut-off: not anonymized, deadline passed.';

CREATE FUNCTION retention.fiscal_erasure_due(
    guest_type text, fiscal_erased_at timestamptz, fiscal_deadline timestamptz,
    cutoff timestamptz
) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT coalesce($1 = 'company_guest' AND $2 IS NULL AND $3 <= $4, false) $$;

COMMENT ON FUNCTION retention.fiscal_erasure_due(text, timestamptz, timestamptz, timestamptz) IS
    'Whether a company guest''s fiscal data is due at the cut-off.';

-- at: the report's instant, from the caller's clock; until: end of the
-- window; branches: the branches to report, NULL for all.
-- The OFFSET 0 keeps the classification a subquery of its own: each deadline
-- is computed once per guest, not once for every reference in the CASEs
-- (inlined, the report cost 1.7x the classification itself).
CREATE FUNCTION retention.pending_items(at timestamptz, until timestamptz, branches bigint[])
RETURNS TABLE (
    guest_id bigint, branch_id bigint, time_zone text, guest_type text,
    newsletter_active boolean, personal_deadline timestamptz, fiscal_deadline timestamptz,
    blocked_reason text, personal_status text, fiscal_status text
)
LANGUAGE sql STABLE
AS $$
    SELECT c.guest_id, c.branch_id, c.time_zone, c.guest_type, c.newsletter_active,
           c.personal_deadline, c.fiscal_deadline, c.blocked_reason,
           CASE WHEN c.anonymized_at IS NULL THEN
               CASE WHEN c.personal_deadline IS NULL THEN 'not_configured'
                    WHEN c.personal_deadline > $2 THEN NULL -- retained beyond the window
                    WHEN c.blocked_reason IS NOT NULL THEN 'blocked'
                    WHEN c.personal_deadline <= $1 THEN 'overdue'
                    ELSE 'due_soon' END
           END,
           CASE WHEN c.guest_type = 'company_guest' AND c.fiscal_erased_at IS NULL THEN
               CASE WHEN c.fiscal_deadline IS NULL THEN 'not_configured'
                    WHEN c.fiscal_deadline > $2 THEN NULL
                    WHEN c.blocked_reason IS NOT NULL THEN 'blocked'
                    WHEN c.fiscal_deadline <= $1 THEN 'overdue'
                    ELSE 'due_soon' END
           END
    FROM (
        SELECT * FROM retention.guest_classification c
        -- guests with something left to do: not anonymized, or company data still kept
        WHERE (c.anonymized_at IS NULL OR (c.fiscal_erased_at IS NULL AND c.has_company))
          AND ($3 IS NULL OR c.branch_id = ANY ($3))
        OFFSET 0
    ) c
$$;

COMMENT ON FUNCTION retention.pending_items(timestamptz, timestamptz, bigint[]) IS
    'Guests with something ahead and the status of both actions (pending report).';
