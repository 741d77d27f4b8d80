-- The newest restore the ledger found (restore_detected rows name no
-- branch: the index on branch and time finds it), never one dated ahead.
SELECT max(p.at) AS at
FROM retention.action_protocol p
WHERE p.branch_id IS NULL AND p.action = 'restore_detected' AND p.at <= now()
  AND retention.readable_time(p.at) IS NOT NULL
