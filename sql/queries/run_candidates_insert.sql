-- Lists the candidates of the branches at a cut-off, each under its plan id
-- (retention_api.run_candidates_insert).
-- $1 bigint[] branches, $2 bigint[] plan ids, $3 cut-off
SELECT retention_api.run_candidates_insert($1::bigint[], $2::bigint[], $3::timestamptz)
