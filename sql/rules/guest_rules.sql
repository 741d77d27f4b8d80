-- The retention rules as functions over a guest's facts: type, period,
-- last activity, deadlines, blocker, and what is due at a cut-off. Both
-- classification paths, the candidate listing, the batch's re-check and
-- the pending report go through these. (An erasure request's blockers are
-- listed one by one for the person deciding: erasure_blockers.sql.)
--
-- Each is one plain SQL expression that the planner inlines, so it costs
-- what the expression costs and never hides an index. A function that uses
-- an argument twice is inlined only when the caller passes something cheap
-- (a column, a parameter), as every caller here does. None depends on the
-- moment of evaluation: whether a deadline has passed is decided against
-- an instant the caller passes (a bound parameter from its clock, never
-- now()).

-- A blank company is no company.
CREATE OR REPLACE FUNCTION retention.has_company(company text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC SELECT nullif(btrim($1, E' \t\r\n'), '') IS NOT NULL; END;

-- Type, first match wins: company guest (a sale and a company), regular
-- guest (verified), guest (a sale), newsletter subscriber (an active
-- subscription), guest without sale.
CREATE OR REPLACE FUNCTION retention.guest_type(
    has_sale boolean, company text, verified boolean, newsletter_active boolean
) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT CASE
        WHEN $1 AND retention.has_company($2) THEN 'company_guest'
        WHEN $3 THEN 'regular_guest'
        WHEN $1 THEN 'guest'
        WHEN $4 THEN 'newsletter_subscriber'
        ELSE 'guest_without_sale'
    END;
END;

-- The type whose period governs personal data: a company guest's is the
-- regular guest period if verified, else the guest period; any other
-- guest's is its own type's (the company test is the only difference, so
-- it is the type without it).
CREATE OR REPLACE FUNCTION retention.personal_period_type(
    has_sale boolean, verified boolean, newsletter_active boolean
) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC SELECT retention.guest_type($1, NULL, $2, $3); END;

-- Last activity: reservation, sale, manual edit and newsletter sign-up all
-- extend retention (NULLs ignored).
CREATE OR REPLACE FUNCTION retention.last_activity(
    created_at timestamptz, profile_updated_at timestamptz, last_sale_at timestamptz,
    last_booked_at timestamptz, subscribed_at timestamptz
) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC SELECT greatest($1, $2, $3, $4, $5); END;

-- Personal deadline: last activity + period on the branch's local calendar
-- ('3 years' after 14:00 local is 14:00 local, across daylight saving
-- changes), but never before a non-cancelled reservation happens; NULL when
-- no period is configured.
CREATE OR REPLACE FUNCTION retention.personal_deadline(
    last_activity timestamptz, period interval, time_zone text,
    latest_reservation_for timestamptz
) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT CASE WHEN $2 IS NOT NULL
                THEN greatest((($1 AT TIME ZONE $3) + $2) AT TIME ZONE $3, $4)
           END;
END;

-- Fiscal deadline of a company guest: latest sale or invoice + the company
-- period, never before the personal deadline; NULL where either period is
-- not configured or the guest is no company guest.
CREATE OR REPLACE FUNCTION retention.fiscal_deadline(
    guest_type text, last_sale_at timestamptz, last_invoice_at timestamptz,
    fiscal_period interval, personal_period interval, time_zone text,
    personal_deadline timestamptz
) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT CASE WHEN $1 = 'company_guest' AND $4 IS NOT NULL AND $5 IS NOT NULL
                THEN greatest(((greatest($2, $3) AT TIME ZONE $6) + $4) AT TIME ZONE $6, $7)
           END;
END;

-- Blocked: a guest under a legal hold (its own or its branch's), or with an
-- unpaid invoice, is not touched; the hold is named first.
CREATE OR REPLACE FUNCTION retention.blocked_reason(unpaid_invoices bigint, held boolean)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC SELECT CASE WHEN $2 THEN 'legal_hold' WHEN $1 > 0 THEN 'unpaid_invoice' END; END;

-- The guests and branches under a legal hold now, as two arrays: one row,
-- computed once per statement and matched with = ANY (a few holds at most).
CREATE OR REPLACE VIEW retention.holds_in_force AS
SELECT coalesce(array_agg(h.guest_id) FILTER (WHERE h.guest_id IS NOT NULL), '{}') AS guests,
       coalesce(array_agg(h.branch_id) FILTER (WHERE h.branch_id IS NOT NULL), '{}') AS branches
FROM retention.legal_holds h
WHERE h.released_at IS NULL;

-- Due at the cut-off: personal data not anonymized yet, deadline passed.
-- Blocked guests are never due; callers filter them by blocked_reason.
CREATE OR REPLACE FUNCTION retention.anonymize_due(
    anonymized_at timestamptz, personal_deadline timestamptz, cutoff timestamptz
) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC SELECT coalesce($1 IS NULL AND $2 <= $3, false); END;

COMMENT ON FUNCTION retention.anonymize_due(timestamptz, timestamptz, timestamptz) IS
    'Whether a guest''s personal data is due at the cut-off: not anonymized, deadline passed.';

-- Due at the cut-off: a company guest's fiscal data, not erased yet,
-- fiscal deadline passed.
CREATE OR REPLACE FUNCTION retention.fiscal_erasure_due(
    guest_type text, fiscal_erased_at timestamptz, fiscal_deadline timestamptz,
    cutoff timestamptz
) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC SELECT coalesce($1 = 'company_guest' AND $2 IS NULL AND $3 <= $4, false); END;

COMMENT ON FUNCTION retention.fiscal_erasure_due(text, timestamptz, timestamptz, timestamptz) IS
    'Whether a company guest''s fiscal data is due at the cut-off.';

-- Whether a change erases the company fields and invoice PDFs: at the
-- fiscal deadline, or with the personal data of a guest who is no company
-- guest (a company guest keeps them until its fiscal deadline).
CREATE OR REPLACE FUNCTION retention.company_data_erased(
    anonymize boolean, erase_fiscal boolean, guest_type text
) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC SELECT $2 OR ($1 AND $3 <> 'company_guest'); END;

-- Whether a guest has anything left for the rules to do: personal data not
-- anonymized yet, or company data still kept. Guests without are skipped by
-- the candidate listing and the pending report.
CREATE OR REPLACE FUNCTION retention.work_left(
    anonymized_at timestamptz, fiscal_erased_at timestamptz, has_company boolean
) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC SELECT $1 IS NULL OR ($2 IS NULL AND $3); END;
