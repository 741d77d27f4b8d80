-- Shape "history" (scripts/bench-run), applied to demo data: a long history,
-- two dozen more sales for every guest who has sales and two dozen more
-- reservations for every guest who has one, within the two years (sales)
-- or the year (bookings) after the guest's creation; an invoice, paid, for
-- each new sale of a company guest. Deterministic: dates come from a hash
-- of the guest id and the row's number.
BEGIN;
CREATE TEMP TABLE history_anchor ON COMMIT DROP AS
SELECT max(sold_at) AS last_sale, max(id) AS last_sale_id FROM sales;
INSERT INTO sales (guest_id, branch_id, sold_at, total_cents)
SELECT g.id, g.branch_id,
       least(a.last_sale,
             g.created_at + (abs(hashint8(g.id * 64 + k)) % 730000) / 1000.0 * interval '1 day'),
       1500 + abs(hashint8(g.id * 64 + k + 32)) % 25000
FROM history_anchor a
CROSS JOIN guests g
CROSS JOIN generate_series(1, 24) k
WHERE EXISTS (SELECT 1 FROM sales s WHERE s.guest_id = g.id);
INSERT INTO reservations (guest_id, branch_id, reserved_for, created_at, party_size, notes,
                          cancelled_at)
SELECT g.id, g.branch_id, b.booked + (1 + k % 60) * interval '1 day', b.booked, 1 + k % 8,
       CASE WHEN k % 5 = 0 THEN 'Fensterplatz' END,
       CASE WHEN k % 10 = 0 THEN b.booked + interval '1 day' END
FROM guests g
CROSS JOIN generate_series(1, 24) k
CROSS JOIN LATERAL (
    SELECT least(now() - interval '70 days',
                 g.created_at + (abs(hashint8(g.id * 64 + k + 16)) % 365000) / 1000.0
                                * interval '1 day') AS booked
) b
WHERE EXISTS (SELECT 1 FROM reservations r WHERE r.guest_id = g.id);
INSERT INTO invoices (guest_id, sale_id, number, issued_at, pdf, paid_at)
SELECT s.guest_id, s.id, 'H-' || lpad(s.id::text, 10, '0'), s.sold_at,
       convert_to('%PDF-1.4 history invoice ' || s.id, 'UTF8'), s.sold_at + interval '10 days'
FROM history_anchor a
JOIN sales s ON s.id > a.last_sale_id
JOIN guests g ON g.id = s.guest_id
WHERE nullif(btrim(g.company), '') IS NOT NULL;
COMMIT;
