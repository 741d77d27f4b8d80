-- Shape "sparse" (scripts/bench-run), applied to demo data: about 40 % of
-- the guests without any sale, one sale per guest who has one, a tenth of
-- the guests with a reservation; company guests keep their sales and
-- invoices. Deterministic: guests are chosen by a hash of their id.
BEGIN;
-- invoices.sale_id has no index: the foreign key's check would scan the
-- invoices once per deleted sale. Only sales of guests without a company
-- are deleted, and demo invoices belong to company guests' sales alone.
SET LOCAL session_replication_role = replica;
-- 13 % of the sale guests (no company) lose their sales: 32 % + 8 % no sale
DELETE FROM sales s
USING guests g
WHERE g.id = s.guest_id
  AND nullif(btrim(g.company), '') IS NULL
  AND abs(hashint8(g.id)) % 100 < 13;
-- one sale per guest without a company: the first one
DELETE FROM sales s
USING guests g
WHERE g.id = s.guest_id
  AND nullif(btrim(g.company), '') IS NULL
  AND EXISTS (SELECT 1 FROM sales e WHERE e.guest_id = s.guest_id AND e.id < s.id);
-- a third of the 30 % with reservations keep them
DELETE FROM reservations r WHERE abs(hashint8(r.guest_id + 7)) % 3 <> 0;
COMMIT;
