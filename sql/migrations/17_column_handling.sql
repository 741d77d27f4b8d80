-- Every column of the guest-data tables decided: the rules' own columns
-- are built in (sql/rules/columns.sql); any other column (the POS adds
-- guests.allergies) is `anonymize` (set to NULL with the guest's personal
-- data) or `keep`, decided by an admin (retentiond columns set, a protocol
-- row), or unclassified until then, which status, the metrics and the
-- pending mail report.

CREATE TABLE retention.column_handling (
    table_name    text NOT NULL CHECK (table_name IN ('guests', 'reservations',
                                                      'newsletter_subscriptions', 'invoices',
                                                      'customer_cards')),
    column_name   text NOT NULL,
    handling      text NOT NULL CHECK (handling IN ('anonymize', 'keep')),
    decided_by    text NOT NULL,
    decided_login text NOT NULL DEFAULT session_user,
    decided_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (table_name, column_name)
);

COMMENT ON TABLE retention.column_handling IS
    'How anonymization treats the guest-data columns the rules do not know (retentiond columns).';
