-- Protocol rows that no seal lists (inserted outside the chain): the first
-- of them and how many. Rows reach a seal in the statement that inserts
-- them, so on an intact protocol this is always none.
SELECT min(p.id) AS first_id, count(*) AS rows
FROM retention.action_protocol p
WHERE NOT EXISTS (
    SELECT 1
    FROM (SELECT unnest(s.row_ids) AS id FROM retention.protocol_seals s) sealed
    WHERE sealed.id = p.id
)
