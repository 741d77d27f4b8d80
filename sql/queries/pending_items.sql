-- The actions ahead of every guest, with their status at the report's instant.
-- (Shared head of pending_counts.sql and pending_guests.sql.)
-- $1 timestamptz: the report's instant, from the clock
-- $2 timestamptz: end of the window ($1 + within)
-- $3 bigint[]: branches to report, NULL for all
WITH classified AS (
    -- guests with something left to do: not anonymized, or company data still kept
    SELECT c.guest_id, c.branch_id, c.time_zone, c.guest_type, c.newsletter_active,
           c.blocked_reason, c.anonymized_at, c.personal_deadline, c.fiscal_deadline,
           c.guest_type = 'company_guest' AND c.fiscal_erased_at IS NULL AS fiscal_pending
    FROM retention.guest_classification c
    WHERE (c.anonymized_at IS NULL OR (c.fiscal_erased_at IS NULL AND c.has_company))
      AND ($3::bigint[] IS NULL OR c.branch_id = ANY ($3))
),
statuses AS (
    -- one item per action still ahead: anonymize personal data, erase fiscal data
    SELECT k.guest_id, k.branch_id, k.time_zone, k.guest_type, k.newsletter_active,
           k.blocked_reason AS blocker, v.action, v.deadline,
           CASE
               WHEN v.deadline IS NULL THEN 'not_configured'
               WHEN v.deadline > $2 THEN NULL -- retained beyond the window
               WHEN k.blocked_reason IS NOT NULL THEN 'blocked'
               WHEN v.deadline <= $1 THEN 'overdue'
               ELSE 'due_soon'
           END AS status
    FROM classified k
    CROSS JOIN LATERAL (VALUES
        ('anonymize', k.personal_deadline, k.anonymized_at IS NULL),
        ('erase_fiscal', k.fiscal_deadline, k.fiscal_pending)
    ) v (action, deadline, applies)
    WHERE v.applies
),
items AS (
    -- a blocker is reported only where it stops something due
    SELECT s.*, CASE WHEN s.status = 'blocked' THEN s.blocker END AS blocked_reason
    FROM statuses s
)
