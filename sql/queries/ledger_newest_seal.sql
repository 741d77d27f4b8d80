-- The newest seal, with its position, the highest row id it covers and
-- the time of its oldest row.
SELECT s.pos, s.seal, (SELECT max(r.id) FROM unnest(s.row_ids) AS r (id)) AS row_id,
       (SELECT min(retention.readable_time(p.at)) FROM retention.action_protocol p
        WHERE p.id = ANY (s.row_ids)) AS first_at
FROM retention.protocol_seals s
ORDER BY s.pos DESC
LIMIT 1
