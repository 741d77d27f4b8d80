-- The newest seal, named by the highest protocol row id it lists. Inside
-- a transaction that just inserted a protocol row, that row's own seal.
SELECT (SELECT max(id) FROM unnest(s.row_ids) AS id) AS row_id, s.seal
FROM retention.protocol_seals s
ORDER BY s.pos DESC
LIMIT 1
