-- Columns of the guest data nobody decided on (sql/rules/columns.sql).
SELECT count(*) FROM retention.guest_columns WHERE handling = 'unclassified'
