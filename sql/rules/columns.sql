-- Every column of the guest-data tables with how anonymization treats it:
-- built_in (the rules' own: guest_rules.sql and the anonymization in
-- api.sql), anonymize or keep (decided: retention.column_handling), or
-- unclassified. Read from the catalog, so a column the POS adds shows at
-- once.
CREATE OR REPLACE VIEW retention.guest_columns AS
SELECT c.relname::text AS table_name, a.attname::text AS column_name,
       pg_catalog.format_type(a.atttypid, a.atttypmod) AS data_type,
       NOT a.attnotnull AS nullable,
       CASE WHEN b.column_name IS NOT NULL THEN 'built_in'
            ELSE coalesce(h.handling, 'unclassified') END AS handling,
       h.decided_by, h.decided_login, h.decided_at
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN (VALUES
    ('guests', 'id'), ('guests', 'branch_id'), ('guests', 'first_name'), ('guests', 'last_name'),
    ('guests', 'email'), ('guests', 'phone'), ('guests', 'street'), ('guests', 'zip'),
    ('guests', 'city'), ('guests', 'birthday'), ('guests', 'notes'), ('guests', 'company'),
    ('guests', 'vat_id'), ('guests', 'economic_id'), ('guests', 'verified'),
    ('guests', 'created_at'), ('guests', 'profile_updated_at'), ('guests', 'anonymized_at'),
    ('guests', 'fiscal_erased_at'),
    ('reservations', 'id'), ('reservations', 'guest_id'), ('reservations', 'branch_id'),
    ('reservations', 'reserved_for'), ('reservations', 'created_at'),
    ('reservations', 'party_size'), ('reservations', 'notes'), ('reservations', 'cancelled_at'),
    ('newsletter_subscriptions', 'guest_id'), ('newsletter_subscriptions', 'email'),
    ('newsletter_subscriptions', 'subscribed_at'), ('newsletter_subscriptions', 'unsubscribed_at'),
    ('invoices', 'id'), ('invoices', 'guest_id'), ('invoices', 'sale_id'), ('invoices', 'number'),
    ('invoices', 'issued_at'), ('invoices', 'pdf'), ('invoices', 'paid_at'),
    ('customer_cards', 'id'), ('customer_cards', 'guest_id'), ('customer_cards', 'card_number'),
    ('customer_cards', 'valid')
) AS b (table_name, column_name)
    ON b.table_name = c.relname AND b.column_name = a.attname
LEFT JOIN retention.column_handling h
    ON h.table_name = c.relname AND h.column_name = a.attname
WHERE c.relname IN ('guests', 'reservations', 'newsletter_subscriptions', 'invoices',
                    'customer_cards')
  AND c.relkind IN ('r', 'p');
