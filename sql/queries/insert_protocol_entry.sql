-- Appends one action protocol row.
-- $1 actor, $2 action, $3 branch_id, $4 guest_id, $5 guest_type, $6 run_id, $7 details (jsonb)
INSERT INTO retention.action_protocol (actor, action, branch_id, guest_id, guest_type, run_id, details)
VALUES ($1, $2, $3, $4, $5, $6, $7)
