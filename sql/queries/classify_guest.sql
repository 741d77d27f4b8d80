-- One guest's classification with the facts behind it.
-- $1 guest_id
SELECT c.guest_id, c.branch_id, c.guest_type, c.verified, c.has_company,
       c.created_at, c.profile_updated_at, c.last_sale_at, c.last_booked_at,
       c.subscribed_at, c.newsletter_active, c.last_activity, c.latest_reservation_for,
       c.last_invoice_at, c.unpaid_invoices, c.personal_period_type,
       c.personal_period::text AS personal_period, c.personal_period_inherited,
       c.personal_deadline, c.fiscal_period::text AS fiscal_period, c.fiscal_period_inherited,
       c.fiscal_deadline, c.blocked_reason, c.anonymized_at, c.fiscal_erased_at
FROM retention.guest_classification c
WHERE c.guest_id = $1
