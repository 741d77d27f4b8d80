-- Walks the protocol's hash chain (migration 12) for `protocol verify`:
-- every seal in chain order and, in each, the rows it lists in id order
-- with their canonical form. The form is written out here again on
-- purpose, so that verifying trusts no function a superuser could replace.
-- A listed row that is gone has a NULL canonical form.
-- Each seal's arrays are read once (a function of an array column in the
-- per-row list would unpack the whole array for every row).
SELECT w.pos, w.seal, w.rows, w.n, w.id, w.fingerprint, w.canonical,
       hashtextextended(w.canonical, 0) AS fingerprint_now
FROM (
    SELECT s.pos, s.seal, s.rows, u.n::integer AS n, u.id, u.fingerprint,
           CASE WHEN p.id IS NOT NULL THEN
               concat_ws(',', p.id, (extract(epoch FROM p.at) * 1000000)::bigint,
                         quote_nullable(p.actor), quote_nullable(p.action),
                         coalesce(p.branch_id::text, '-'), coalesce(p.guest_id::text, '-'),
                         quote_nullable(p.guest_type), coalesce(p.run_id::text, '-'),
                         quote_nullable(p.details::text))
           END AS canonical
    FROM (
        SELECT s.pos, s.seal, s.row_ids, s.fingerprints, cardinality(s.row_ids) AS rows
        FROM retention.protocol_seals s
        ORDER BY s.pos
        OFFSET 0
    ) s
    CROSS JOIN LATERAL unnest(s.row_ids, s.fingerprints) WITH ORDINALITY AS u (id, fingerprint, n)
    LEFT JOIN retention.action_protocol p ON p.id = u.id
    ORDER BY s.pos, u.n
    OFFSET 0 -- the canonical form once per row, not once per use
) w
