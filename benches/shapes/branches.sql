-- Shape "branches" (scripts/bench-run), applied to demo data with 100
-- branches: every branch has periods of its own (through the API, as
-- `policy set` writes them), different from branch to branch, so that no
-- branch inherits the head office's.
SELECT count(*)
FROM branches b
CROSS JOIN LATERAL (VALUES
    ('newsletter_subscriber', make_interval(years => 2, months => (b.id % 12)::int)),
    ('guest_without_sale', make_interval(years => 2, months => (b.id % 7)::int * 2)),
    ('guest', make_interval(years => 4, months => (b.id % 24)::int)),
    ('regular_guest', make_interval(years => 6, months => (b.id % 12)::int)),
    ('company_guest', make_interval(years => 10, days => (b.id % 30)::int))
) AS t (guest_type, period)
CROSS JOIN LATERAL retention_api.policy_set(b.id, t.guest_type, t.period::text, 'bench') p;
