-- Re-applies an approved erasure that a restore lost
-- (retention_api.erasure_replay): 'replayed', 'already', 'missing' or
-- 'blocked: …'.
SELECT retention_api.erasure_replay($1, $2, $3, $4, $5, $6, $7, $8) AS outcome
