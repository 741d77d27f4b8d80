-- A new plan id for one branch's candidate list.
SELECT nextval('retention.run_plan_ids')
