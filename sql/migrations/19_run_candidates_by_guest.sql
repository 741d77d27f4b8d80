-- A run's batches take its candidates in guest id order across all the
-- branches it covers (retention_api.run_batch): consecutive guests share
-- heap and index pages, where a run that worked one branch after the other
-- touched a page per guest on data whose branches are interleaved (a
-- chain's guests, numbered as they came). The candidates are keyed by
-- guest id alone: a run of one branch filters the other lists listed with
-- it from where its batch starts, and the listing maintains one index
-- instead of two (a second index cost the listing of 131,000 candidates
-- 1.2 s, half the time of the classification it stores; measured). A
-- plan's candidates are unique by construction (one listing statement
-- per plan id from a sequence).
CREATE INDEX IF NOT EXISTS run_candidates_guest_id_idx ON retention.run_candidates (guest_id);
ALTER TABLE retention.run_candidates DROP CONSTRAINT IF EXISTS run_candidates_pkey;
