-- Autovacuum and a plain VACUUM never truncate the candidate lists (only
-- VACUUM (TRUNCATE) by hand would). A run deletes its lists when
-- it ends, which leaves the table's pages empty, and autovacuum then cut
-- them off: a truncation holds the table's ACCESS EXCLUSIVE lock, and the
-- next run's listing and batches, which read and write the lists, waited
-- behind it until the deadlock check cancelled autovacuum, a second later
-- (the nightly run at 100 branches took 1.8 s instead of 0.8 s, measured).
-- The empty pages stay and the next listing fills them again.
ALTER TABLE retention.run_candidates SET (vacuum_truncate = false);
