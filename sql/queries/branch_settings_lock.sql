-- Locks a branch's settings row for the change that follows (after
-- branch_settings_ensure.sql has made sure it exists).
-- $1 bigint: branch
SELECT branch_id FROM retention.branch_settings WHERE branch_id = $1::bigint FOR UPDATE
