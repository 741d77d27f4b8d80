-- The newest seal, with its position.
SELECT s.pos, s.seal, (SELECT max(r.id) FROM unnest(s.row_ids) AS r (id)) AS row_id
FROM retention.protocol_seals s
ORDER BY s.pos DESC
LIMIT 1
