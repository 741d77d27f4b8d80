-- Where the ledger sees the protocol: this database's oid and name, and
-- the database's clock (the ledger's times are the database's, like the
-- protocol's). The cluster's system identifier is read apart: only some
-- logins may call pg_control_system().
SELECT d.oid::bigint AS oid, d.datname::text AS name, now() AS now
FROM pg_catalog.pg_database d
WHERE d.datname = pg_catalog.current_database()
