-- Anonymization runs: one row per run, scheduled or manual.
--
-- A scheduled run belongs to one branch and one local night (night_branch_id,
-- night): the partial unique index below lets exactly one daemon claim a
-- night, across restarts and several daemons (anacron-style). A failed or
-- interrupted attempt does not hold the night, so it is retried.

CREATE TABLE retention.runs (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind            text NOT NULL CHECK (kind IN ('scheduled', 'manual')),
    actor           text NOT NULL,
    branches        bigint[] NOT NULL,
    night_branch_id bigint NULL,
    night           date NULL,
    cutoff          timestamptz NOT NULL,
    started_at      timestamptz NOT NULL,
    finished_at     timestamptz NULL,
    status          text NOT NULL DEFAULT 'running'
                    CHECK (status IN ('running', 'completed', 'partial', 'held',
                                      'interrupted', 'failed')),
    -- {"guest_anonymized": {"guest": 12, ...}, "newsletter_unsubscribed": {...}, ...}
    counts          jsonb NOT NULL DEFAULT '{}',
    -- the same per branch: {"2": {"guest_anonymized": {"guest": 12}}, ...}
    branch_counts   jsonb NOT NULL DEFAULT '{}',
    -- guests still due when the run ended (window, shutdown, locked rows)
    remaining       bigint NOT NULL DEFAULT 0,
    -- [{"branch_id": 2, "candidates": 900, "not_anonymized": 1000}, ...]
    held            jsonb NOT NULL DEFAULT '[]',
    error           text NULL,
    CHECK ((kind = 'scheduled') = (night IS NOT NULL AND night_branch_id IS NOT NULL))
);

CREATE UNIQUE INDEX runs_one_per_night_idx
    ON retention.runs (night_branch_id, night)
    WHERE status NOT IN ('failed', 'interrupted');
CREATE INDEX runs_started_at_idx ON retention.runs (started_at);

COMMENT ON TABLE retention.runs IS
    'Anonymization runs of retentiond: kind, actor, branches, cut-off, status and counts.';

-- The candidates of a run, found once per branch at the run's cut-off and
-- then worked off in id order (keyset), so a batch never re-scans the guests.
-- Unlogged: after a crash the run is interrupted anyway and the next run
-- finds its candidates afresh.
CREATE UNLOGGED TABLE retention.run_candidates (
    plan_id  bigint NOT NULL,
    guest_id bigint NOT NULL,
    branch_id bigint NOT NULL,
    guest_type text NOT NULL,
    anonymize boolean NOT NULL,
    erase_fiscal boolean NOT NULL,
    newsletter_active boolean NOT NULL,
    PRIMARY KEY (plan_id, guest_id)
);

CREATE SEQUENCE retention.run_plan_ids;
