-- New plan ids, one per branch of a run.
-- $1 int: how many
SELECT nextval('retention.run_plan_ids') FROM generate_series(1, $1::int)
