-- Every column of the guest-data tables with how anonymization treats it
-- (retention.guest_columns, sql/rules/columns.sql).
SELECT table_name, column_name, data_type, nullable, handling, decided_by, decided_login,
       decided_at
FROM retention.guest_columns
ORDER BY array_position(ARRAY['guests', 'reservations', 'newsletter_subscriptions', 'invoices',
                              'customer_cards'], table_name), column_name
