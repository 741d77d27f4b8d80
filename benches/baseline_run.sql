-- One set-based transaction doing what a run does (benchmarks): the due set
-- into a temporary table, one UPDATE … FROM per table, one INSERT … SELECT
-- per protocol action, rows like a run's (a run id, the cut-off and the
-- login in the details). psql variable :cutoff is the run's cut-off.
\ir baseline_classify.sql
BEGIN;
CREATE TEMP TABLE due ON COMMIT DROP AS
SELECT id, branch_id, gtype, nl_active,
       anonymized_at IS NULL AND pdl <= :'cutoff' AS anonymize,
       gtype = 'company_guest' AND fiscal_erased_at IS NULL AND fdl <= :'cutoff' AS erase_fiscal
FROM facts
WHERE unpaid = 0
  AND ((anonymized_at IS NULL AND pdl <= :'cutoff')
       OR (gtype = 'company_guest' AND fiscal_erased_at IS NULL AND fdl <= :'cutoff'));
UPDATE guests g SET
    first_name = CASE WHEN d.anonymize THEN NULL ELSE g.first_name END,
    last_name = CASE WHEN d.anonymize THEN 'DSGVO' ELSE g.last_name END,
    email = CASE WHEN d.anonymize THEN NULL ELSE g.email END,
    phone = CASE WHEN d.anonymize THEN NULL ELSE g.phone END,
    street = CASE WHEN d.anonymize THEN NULL ELSE g.street END,
    birthday = CASE WHEN d.anonymize THEN NULL ELSE g.birthday END,
    notes = CASE WHEN d.anonymize THEN NULL ELSE g.notes END,
    company = CASE WHEN d.erase_fiscal OR (d.anonymize AND d.gtype <> 'company_guest') THEN NULL ELSE g.company END,
    vat_id = CASE WHEN d.erase_fiscal OR (d.anonymize AND d.gtype <> 'company_guest') THEN NULL ELSE g.vat_id END,
    economic_id = CASE WHEN d.erase_fiscal OR (d.anonymize AND d.gtype <> 'company_guest') THEN NULL ELSE g.economic_id END,
    anonymized_at = CASE WHEN d.anonymize THEN now() ELSE g.anonymized_at END,
    fiscal_erased_at = CASE WHEN d.erase_fiscal THEN now() ELSE g.fiscal_erased_at END
FROM due d WHERE g.id = d.id;
UPDATE reservations r SET notes = NULL
FROM due d WHERE d.anonymize AND r.guest_id = d.id AND r.notes IS NOT NULL;
UPDATE newsletter_subscriptions n SET email = NULL, unsubscribed_at = coalesce(n.unsubscribed_at, now())
FROM due d WHERE d.anonymize AND n.guest_id = d.id;
UPDATE invoices i SET pdf = NULL
FROM due d WHERE i.guest_id = d.id AND i.pdf IS NOT NULL
  AND (d.erase_fiscal OR (d.anonymize AND d.gtype <> 'company_guest'));
INSERT INTO retention.action_protocol (at, actor, action, branch_id, guest_id, guest_type, run_id, details)
SELECT now(), 'baseline', 'guest_anonymized', branch_id, id, gtype, 0, jsonb_build_object('cutoff', :'cutoff'::timestamptz, 'login', session_user::text)
FROM due WHERE anonymize;
INSERT INTO retention.action_protocol (at, actor, action, branch_id, guest_id, guest_type, run_id, details)
SELECT now(), 'baseline', 'newsletter_unsubscribed', branch_id, id, gtype, 0, jsonb_build_object('cutoff', :'cutoff'::timestamptz, 'login', session_user::text)
FROM due WHERE anonymize AND nl_active;
INSERT INTO retention.action_protocol (at, actor, action, branch_id, guest_id, guest_type, run_id, details)
SELECT now(), 'baseline', 'fiscal_data_erased', branch_id, id, gtype, 0, jsonb_build_object('cutoff', :'cutoff'::timestamptz, 'login', session_user::text)
FROM due WHERE erase_fiscal;
COMMIT;
