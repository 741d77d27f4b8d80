-- Records a run (retention_api.run_create); for a scheduled run it claims
-- the night: no row when another run holds it.
-- $1 kind, $2 actor, $3 branches, $4 night branch, $5 night, $6 cut-off, $7 started
SELECT r.id
FROM retention_api.run_create($1::text, $2::text, $3::bigint[], $4::bigint, $5::date,
                              $6::timestamptz, $7::timestamptz) AS r (id)
WHERE r.id IS NOT NULL
