-- Records one applied rule file.
-- $1 text: file name, $2 text: checksum, $3 integer: rules version
INSERT INTO retention.schema_rules (name, checksum, version) VALUES ($1, $2, $3)
