-- The periods in force as one value (retention.guest_periods_by_key), kept
-- with the text of the inputs it was computed from: every branch's parent
-- and time zone, every configured period. A batch of a run reads it back
-- while its inputs are unchanged instead of computing it again (4 to 5 ms a
-- batch at 100 branches, measured); retention.periods_in_force compares the
-- inputs on every read, so a changed period or time zone is never read from
-- here. Its one row is written when the rules are applied (classification.sql,
-- empty) and by retention.periods_cache_refresh.
CREATE TABLE IF NOT EXISTS retention.periods_cache (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    inputs   text NOT NULL,
    periods  jsonb NOT NULL
);
REVOKE ALL ON retention.periods_cache FROM PUBLIC;

COMMENT ON TABLE retention.periods_cache IS
    'retention.guest_periods_by_key as last computed, with its inputs (retention.periods_in_force).';
