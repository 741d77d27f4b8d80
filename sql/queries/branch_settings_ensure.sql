-- Creates a branch's settings row with the defaults if it has none.
-- $1 bigint: branch, $2 text: actor
INSERT INTO retention.branch_settings (branch_id, updated_by) VALUES ($1::bigint, $2::text)
ON CONFLICT (branch_id) DO NOTHING
