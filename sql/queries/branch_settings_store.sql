-- Stores a branch's settings and writes settings_changed
-- (retention_api.branch_settings_store).
-- $1 branch, $2 auto delete, $3 addresses, $4 notify pending, $5 notify completed,
-- $6 locale, $7 actor, $8 jsonb changes (addresses masked)
SELECT retention_api.branch_settings_store($1::bigint, $2::boolean, $3::text[], $4::boolean,
                                           $5::boolean, $6::text, $7::text, $8::jsonb)
