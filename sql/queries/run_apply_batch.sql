-- Anonymizes one locked batch (run_lock_guests.sql locked the guests and
-- their child rows), in the caller's transaction: re-checks the rules for
-- exactly these guests by index with the candidate test
-- (sql/rules/guest_rules.sql: anonymize_due, fiscal_erasure_due; blocked
-- never; the run's branch only),
-- so that a reservation made a second ago keeps its guest, then one UPDATE
-- per table and the protocol rows. Side tables are reached by `= ANY (ids)`
-- so that a batch costs its own rows, never a pass over a table.
-- $1 bigint[]: locked guest ids, $2 timestamptz: the run's cut-off,
-- $3 timestamptz: now (from the clock), $4 text: actor, $5 bigint: run id
-- (NULL outside a run), $6 bigint[]: guests to anonymize now whatever their
-- deadline (an approved erasure request), $7 jsonb: more protocol details,
-- $8 bigint: the branch the guests must still belong to (NULL: any)
WITH due AS MATERIALIZED (
    SELECT d.*, e.erase_company
    FROM (
        SELECT c.guest_id, c.branch_id, c.guest_type, c.newsletter_active,
               retention.anonymize_due(c.anonymized_at, c.personal_deadline, $2)
                   OR (c.anonymized_at IS NULL AND c.guest_id = ANY ($6::bigint[])) AS anonymize,
               retention.fiscal_erasure_due(c.guest_type, c.fiscal_erased_at, c.fiscal_deadline, $2)
                   AS erase_fiscal
        FROM retention.guest_classification c
        WHERE c.guest_id = ANY ($1::bigint[])
          AND ($8::bigint IS NULL OR c.branch_id = $8::bigint)
          AND c.blocked_reason IS NULL
        OFFSET 0 -- classify each guest once (see sql/rules/pending.sql)
    ) d
    CROSS JOIN LATERAL (
        SELECT retention.company_data_erased(d.anonymize, d.erase_fiscal, d.guest_type)
            AS erase_company
    ) e
    WHERE d.anonymize OR d.erase_fiscal
),
ids AS MATERIALIZED (
    SELECT coalesce(array_agg(guest_id) FILTER (WHERE anonymize), '{}') AS anonymized,
           coalesce(array_agg(guest_id) FILTER (WHERE erase_company), '{}') AS company_gone
    FROM due
),
upd_guests AS (
    UPDATE public.guests g SET
        first_name  = CASE WHEN d.anonymize THEN NULL ELSE g.first_name END,
        last_name   = CASE WHEN d.anonymize THEN 'DSGVO' ELSE g.last_name END,
        email       = CASE WHEN d.anonymize THEN NULL ELSE g.email END,
        phone       = CASE WHEN d.anonymize THEN NULL ELSE g.phone END,
        street      = CASE WHEN d.anonymize THEN NULL ELSE g.street END,
        birthday    = CASE WHEN d.anonymize THEN NULL ELSE g.birthday END,
        notes       = CASE WHEN d.anonymize THEN NULL ELSE g.notes END,
        -- company fields stay for a company guest until its fiscal deadline
        company     = CASE WHEN d.erase_company THEN NULL ELSE g.company END,
        vat_id      = CASE WHEN d.erase_company THEN NULL ELSE g.vat_id END,
        economic_id = CASE WHEN d.erase_company THEN NULL ELSE g.economic_id END,
        anonymized_at    = CASE WHEN d.anonymize THEN $3 ELSE g.anonymized_at END,
        fiscal_erased_at = CASE WHEN d.erase_fiscal THEN $3 ELSE g.fiscal_erased_at END
    FROM due d
    WHERE g.id = d.guest_id
    RETURNING g.id
),
upd_reservations AS (
    UPDATE public.reservations r SET notes = NULL
    WHERE r.guest_id = ANY ((SELECT anonymized FROM ids)::bigint[]) AND r.notes IS NOT NULL
    RETURNING r.id
),
upd_newsletter AS (
    UPDATE public.newsletter_subscriptions n
    SET email = NULL, unsubscribed_at = coalesce(n.unsubscribed_at, $3)
    WHERE n.guest_id = ANY ((SELECT anonymized FROM ids)::bigint[])
    RETURNING n.guest_id
),
upd_invoices AS (
    UPDATE public.invoices i SET pdf = NULL
    WHERE i.guest_id = ANY ((SELECT company_gone FROM ids)::bigint[]) AND i.pdf IS NOT NULL
    RETURNING i.id
),
protocol AS (
    INSERT INTO retention.action_protocol
        (at, actor, action, branch_id, guest_id, guest_type, run_id, details)
    SELECT $3, $4, a.action, d.branch_id, d.guest_id, d.guest_type, $5,
           jsonb_build_object('cutoff', $2) || $7::jsonb
    FROM due d
    CROSS JOIN LATERAL (VALUES
        ('guest_anonymized', d.anonymize),
        ('newsletter_unsubscribed', d.anonymize AND d.newsletter_active),
        ('fiscal_data_erased', d.erase_fiscal)
    ) AS a (action, applies)
    WHERE a.applies
    RETURNING action, guest_type
)
SELECT action, guest_type, count(*) AS guests
FROM protocol
GROUP BY action, guest_type
UNION ALL
-- the guests changed (the batch's caller counts the rest as kept)
SELECT 'guests_updated', NULL, (SELECT count(*) FROM upd_guests)
