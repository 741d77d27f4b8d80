-- The pauses in force now, ending last first. $1 now
SELECT p.id, p.branch_id, p.reason, p.until, p.paused_by, p.paused_login, p.paused_at
FROM retention.pauses p
WHERE p.ended_at IS NULL AND p.until > $1::timestamptz
ORDER BY p.until DESC, p.id
