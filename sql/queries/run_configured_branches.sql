-- Branches with at least one retention period in force (own or inherited).
-- $1 branch id or NULL for all
SELECT DISTINCT branch_id
FROM retention.effective_policies
WHERE $1::bigint IS NULL OR branch_id = $1::bigint
ORDER BY branch_id
