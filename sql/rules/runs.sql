-- When a run is alive, and which runs claim their branch's night.
--
-- A run holds a session advisory lock per branch (its key below) from its
-- start to its end; the lock ends with the session, so a run killed, cut off
-- or crashed loses it. A run still marked `running` whose locks are all gone
-- is dead: the next holder of a branch lock marks it interrupted.
--
-- A scheduled run claims its branch's night (runs.night_branch_id, night):
-- exactly one run per night may hold the claim, across restarts and several
-- daemons. A failed or interrupted attempt does not hold it, so the night is
-- retried (up to schedule.max_attempts, counted by the caller).

-- The advisory lock key of a branch: a fixed class ("RETE") in the high 32
-- bits, the branch id in the low 32 bits.
CREATE OR REPLACE FUNCTION retention.branch_lock_key(branch_id bigint) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC SELECT (x'52455445'::bigint << 32) | ($1 & x'FFFFFFFF'::bigint); END;

-- The branch locks held right now in this database, and by which backend.
CREATE OR REPLACE VIEW retention.branch_locks AS
SELECT l.objid::bigint AS branch_id, l.pid
FROM pg_catalog.pg_locks l
WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 AND l.mode = 'ExclusiveLock'
  AND l.classid::bigint = x'52455445'::bigint
  AND l.database = (SELECT d.oid FROM pg_catalog.pg_database d
                    WHERE d.datname = pg_catalog.current_database());

-- status and every run ask it; pg_locks itself is readable by every login
GRANT SELECT ON retention.branch_locks TO PUBLIC;

-- Whether a run over `branches` is alive: some run holds one of their locks.
CREATE OR REPLACE FUNCTION retention.run_alive(branches bigint[]) RETURNS boolean
LANGUAGE sql VOLATILE
BEGIN ATOMIC
    SELECT EXISTS (SELECT 1 FROM retention.branch_locks l
                   WHERE l.branch_id = ANY ($1));
END;

-- Whether a run's status claims its night: every status but a failed or
-- interrupted attempt. The predicate of the one-run-per-night index below.
CREATE OR REPLACE FUNCTION retention.run_claims_night(status text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC SELECT $1 NOT IN ('failed', 'interrupted'); END;

-- Whether a run holds its night now: its status claims it and, while it is
-- running, it is alive (a dead run's night is open again).
CREATE OR REPLACE FUNCTION retention.run_holds_night(status text, branches bigint[])
RETURNS boolean
LANGUAGE sql VOLATILE
BEGIN ATOMIC
    SELECT retention.run_claims_night($1) AND ($1 <> 'running' OR retention.run_alive($2));
END;

-- One claiming run per branch and night. Rebuilt with the predicate, so that
-- the index always says what run_claims_night says (the table is small:
-- one row per run).
DROP INDEX IF EXISTS retention.runs_one_per_night_idx;
CREATE UNIQUE INDEX runs_one_per_night_idx
    ON retention.runs (night_branch_id, night)
    WHERE retention.run_claims_night(status);
