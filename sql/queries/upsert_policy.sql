-- Stores a branch's own period for a type.
-- $1 branch_id, $2 guest_type, $3 period (text, already checked), $4 actor
INSERT INTO retention.policies (branch_id, guest_type, period, updated_by)
VALUES ($1, $2, $3::text::interval, $4)
ON CONFLICT (branch_id, guest_type)
DO UPDATE SET period = excluded.period, updated_at = now(), updated_by = excluded.updated_by
