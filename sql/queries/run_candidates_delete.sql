-- Removes candidate lists. $1 bigint[] plan ids
SELECT retention_api.run_candidates_delete($1::bigint[])
