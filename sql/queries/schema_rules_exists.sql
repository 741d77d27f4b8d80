-- Whether the database has a record of its rules at all.
SELECT to_regclass('retention.schema_rules') IS NOT NULL
