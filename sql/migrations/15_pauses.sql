-- A pause of all deleting work, for every branch or one, while an incident
-- is investigated: stored here, so every daemon and every manual run
-- respects it across restarts and upgrades; at most 30 days ahead, so it
-- cannot be forgotten for months; it ends by itself at its time, with a
-- protocol row (retention_api.pause, resume, end_pauses in
-- sql/rules/api.sql). Never removed; an ended pause never changes again.

CREATE TABLE retention.pauses (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    branch_id    bigint NULL,
    reason       text NOT NULL CHECK (btrim(reason) <> ''),
    until        timestamptz NOT NULL,
    paused_by    text NOT NULL,
    paused_login text NOT NULL DEFAULT session_user,
    paused_at    timestamptz NOT NULL DEFAULT now(),
    ended_at     timestamptz NULL,
    ended_by     text NULL,
    ended_login  text NULL,
    ended_how    text NULL CHECK (ended_how IN ('resumed', 'expired')),
    CHECK ((ended_at IS NULL) = (ended_how IS NULL))
);

COMMENT ON TABLE retention.pauses IS
    'Pauses of all deleting work, global (branch_id NULL) or per branch (retentiond pause).';

CREATE INDEX pauses_open_idx ON retention.pauses (branch_id) WHERE ended_at IS NULL;

CREATE FUNCTION retention.pauses_guard() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'TRUNCATE') THEN
        RAISE EXCEPTION 'pauses are never removed: resume them'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF OLD.ended_at IS NOT NULL THEN
        RAISE EXCEPTION 'pause % has ended and never changes again', OLD.id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.id IS DISTINCT FROM OLD.id OR NEW.branch_id IS DISTINCT FROM OLD.branch_id
       OR NEW.reason IS DISTINCT FROM OLD.reason OR NEW.until IS DISTINCT FROM OLD.until
       OR NEW.paused_by IS DISTINCT FROM OLD.paused_by
       OR NEW.paused_login IS DISTINCT FROM OLD.paused_login
       OR NEW.paused_at IS DISTINCT FROM OLD.paused_at THEN
        RAISE EXCEPTION 'pause % changes only by its end', OLD.id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    NEW.ended_login := session_user;
    RETURN NEW;
END
$$;

CREATE TRIGGER pauses_guard
    BEFORE UPDATE OR DELETE ON retention.pauses
    FOR EACH ROW EXECUTE FUNCTION retention.pauses_guard();
CREATE TRIGGER pauses_no_truncate
    BEFORE TRUNCATE ON retention.pauses
    FOR EACH STATEMENT EXECUTE FUNCTION retention.pauses_guard();
ALTER TABLE retention.pauses ENABLE ALWAYS TRIGGER pauses_guard;
ALTER TABLE retention.pauses ENABLE ALWAYS TRIGGER pauses_no_truncate;
