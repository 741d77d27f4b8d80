-- The parameters of the demo data load (pg_temp.demo_params, sql/demo/1_random.sql).
-- $1 bigint: branches, $2 timestamptz: anchor, $3 int: seed, $4 bigint: guests
INSERT INTO pg_temp.demo_params (branches, anchor, seed, guests)
VALUES ($1::bigint, $2::timestamptz, $3::int, $4::bigint)
