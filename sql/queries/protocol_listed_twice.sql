-- The lowest protocol row id that the seals list more than once, and the
-- first two seals that list it (the same seal twice when it lists the id
-- twice). Asked only when the seals list more rows than the table holds.
SELECT l.id, (array_agg(l.pos ORDER BY l.pos))[1] AS seal,
       (array_agg(l.pos ORDER BY l.pos))[2] AS again
FROM (SELECT s.pos, unnest(s.row_ids) AS id FROM retention.protocol_seals s) l
WHERE l.id IS NOT NULL
GROUP BY l.id
HAVING count(*) > 1
ORDER BY l.id
LIMIT 1
