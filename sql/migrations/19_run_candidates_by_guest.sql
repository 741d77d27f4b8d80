-- A run's batches take its candidates in guest id order across all the
-- branches it covers (retention_api.run_batch): consecutive guests share
-- heap and index pages, where a run that worked one branch after the other
-- touched a page per guest on data whose branches are interleaved (a
-- chain's guests, numbered as they came). The per-list key (plan_id,
-- guest_id) stays for runs of one branch.
CREATE INDEX IF NOT EXISTS run_candidates_guest_id_idx ON retention.run_candidates (guest_id);
