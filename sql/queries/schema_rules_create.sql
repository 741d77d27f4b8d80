-- The record of the rules (sql/rules) a database holds: one row per file,
-- with its checksum and the rules version of the retentiond that applied
-- it. Every command reads it; it holds names and checksums only.
CREATE TABLE IF NOT EXISTS retention.schema_rules (
    name       text PRIMARY KEY,
    checksum   text NOT NULL,
    version    integer NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);
GRANT SELECT ON retention.schema_rules TO PUBLIC;
