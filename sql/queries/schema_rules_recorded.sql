-- The rule files a database recorded, with their checksums and the rules
-- version that applied them; no rows when the record does not exist yet.
SELECT r.name, r.checksum, r.version
FROM retention.schema_rules r
