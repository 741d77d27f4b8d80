-- Legal holds, newest first: those in force, or (with $1) all.
-- $1 boolean: also released ones
SELECT h.id, h.guest_id, h.branch_id, h.reason, h.until, h.placed_by, h.placed_login,
       h.placed_at, h.released_by, h.released_login, h.released_at
FROM retention.legal_holds h
WHERE $1::boolean OR h.released_at IS NULL
ORDER BY h.id DESC
