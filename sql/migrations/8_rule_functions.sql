-- The decisions that more than one statement needs, defined once here.
--
-- retention.anonymize_due and retention.fiscal_erasure_due are "due" for the
-- run's candidate listing (run_candidates_insert.sql) and for the batch's
-- re-check under the row lock (run_apply_batch.sql); blocked guests are never
-- due, the callers filter them with the classification's blocked_reason.
-- Both are plain SQL expressions that the planner inlines, so they cost what
-- the expression costs and never hide an index from it.

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
