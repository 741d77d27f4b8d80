-- When a branch's automatic deletion was switched on or off, from the
-- settings_changed protocol rows, oldest first.
-- $1 bigint: branch or NULL
SELECT c.branch_id, c.at, (c.details -> 'auto_delete' ->> 'new')::boolean AS auto_delete
FROM retention.action_protocol c
WHERE c.action = 'settings_changed' AND c.details ? 'auto_delete' AND c.branch_id IS NOT NULL
  AND ($1::bigint IS NULL OR c.branch_id = $1::bigint)
ORDER BY c.at, c.id
