-- Walks the protocol's hash chain (migration 12) for `protocol verify`:
-- every seal in chain order and, in each, the rows it lists in the order
-- listed, each with every table row that has its id (a second row with
-- the same id, after the primary key was dropped, shows as a second line
-- of the same listing) and its canonical form. The form is written out
-- here again on purpose, so that verifying trusts no function a superuser
-- could replace. A listed row that is gone has a NULL canonical form; a
-- seal that lists nothing has one line with a NULL n. Every value a
-- constraint guards may be NULL here too: constraints can be dropped.
-- Each seal's arrays are read once (a function of an array column in the
-- per-row list would unpack the whole array for every row).
SELECT w.seal_no, w.pos, w.seal, w.ids, w.fingerprints, w.n, w.id, w.fingerprint,
       w.canonical, hashtextextended(w.canonical, 0) AS fingerprint_now
FROM (
    SELECT s.seal_no, s.pos, s.seal, s.ids, s.fingerprints, u.n::integer AS n, u.id,
           u.fingerprint,
           CASE WHEN p.id IS NOT NULL THEN
               concat_ws(',', p.id, (extract(epoch FROM p.at) * 1000000)::bigint,
                         quote_nullable(p.actor), quote_nullable(p.action),
                         coalesce(p.branch_id::text, '-'), coalesce(p.guest_id::text, '-'),
                         quote_nullable(p.guest_type), coalesce(p.run_id::text, '-'),
                         quote_nullable(p.details::text))
           END AS canonical
    FROM (
        -- seal_no tells two seals apart that claim the same position
        SELECT row_number() OVER (ORDER BY s.pos) AS seal_no, s.pos, s.seal,
               s.row_ids, s.fingerprints AS fingerprint_list,
               cardinality(s.row_ids) AS ids, cardinality(s.fingerprints) AS fingerprints
        FROM retention.protocol_seals s
        ORDER BY s.pos
        OFFSET 0
    ) s
    LEFT JOIN LATERAL unnest(s.row_ids, s.fingerprint_list)
        WITH ORDINALITY AS u (id, fingerprint, n) ON true
    LEFT JOIN retention.action_protocol p ON p.id = u.id
    ORDER BY s.pos, s.seal_no, u.n
    OFFSET 0 -- the canonical form once per row, not once per use
) w
