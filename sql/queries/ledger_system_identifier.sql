-- The cluster's system identifier (pg_control_system() needs a superuser
-- or a grant; the ledger does without it).
SELECT c.system_identifier::text AS id FROM pg_catalog.pg_control_system() c
