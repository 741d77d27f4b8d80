-- Writes a branch's settings (the row exists and is locked by the caller).
-- $1 branch_id, $2 auto_delete, $3 notify_addresses, $4 notify_pending,
-- $5 notify_completed, $6 locale, $7 actor
UPDATE retention.branch_settings
SET auto_delete = $2, notify_addresses = $3, notify_pending = $4,
    notify_completed = $5, locale = $6, updated_at = now(), updated_by = $7
WHERE branch_id = $1
