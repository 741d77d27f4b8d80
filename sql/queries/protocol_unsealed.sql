-- Protocol rows that no seal lists (inserted outside the chain): the
-- lowest id among them (NULL when only rows without an id are), how many
-- there are, and how many rows the table holds in all. Every row is
-- counted, also one whose id another row has or one without an id (the
-- owner can drop the constraints). Rows reach a seal in the statement
-- that inserts them, so on an intact protocol `rows` is always 0.
SELECT (SELECT count(*) FROM retention.action_protocol) AS total,
       min(p.id) AS first_id, count(*) AS rows
FROM retention.action_protocol p
WHERE NOT EXISTS (
    SELECT 1
    FROM (SELECT unnest(s.row_ids) AS id FROM retention.protocol_seals s) sealed
    WHERE sealed.id = p.id
)
