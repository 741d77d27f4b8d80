-- The seals at these positions as stored, with the highest row id each
-- covers and the time of its oldest row (a seal written after a restore
-- holds rows newer than anything the ledger saw).
SELECT s.pos, s.seal,
       (SELECT max(r.id) FROM unnest(s.row_ids) AS r (id)) AS row_id,
       (SELECT min(retention.readable_time(p.at)) FROM retention.action_protocol p
        WHERE p.id = ANY (s.row_ids)) AS first_at
FROM retention.protocol_seals s
WHERE s.pos = ANY ($1::bigint[])
