-- Legal holds (GDPR Art. 17(3)(e)): a guest, or every guest of a branch,
-- in a legal dispute or a tax audit is not anonymized, neither its personal
-- nor its fiscal data, by a run or by an approved erasure, until the hold is
-- released. The reason names a case, not a guest; it never leaves the
-- database in a mail. Placing and releasing are protocol rows with the
-- login (retention_api.hold_place, hold_release in sql/rules/api.sql); a
-- hold is never removed, and a released one never changes again.

CREATE TABLE retention.legal_holds (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    guest_id       bigint NULL,
    branch_id      bigint NULL,
    reason         text NOT NULL CHECK (btrim(reason) <> ''),
    until          date NULL,
    placed_by      text NOT NULL,
    placed_login   text NOT NULL DEFAULT session_user,
    placed_at      timestamptz NOT NULL DEFAULT now(),
    released_by    text NULL,
    released_login text NULL,
    released_at    timestamptz NULL,
    CHECK ((guest_id IS NULL) <> (branch_id IS NULL)),
    CHECK ((released_at IS NULL) = (released_login IS NULL))
);

COMMENT ON TABLE retention.legal_holds IS
    'Guests and branches no run or erasure may anonymize until released (retentiond hold).';

CREATE INDEX legal_holds_active_idx ON retention.legal_holds (guest_id, branch_id)
    WHERE released_at IS NULL;

CREATE FUNCTION retention.legal_holds_guard() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'TRUNCATE') THEN
        RAISE EXCEPTION 'legal holds are never removed: release them'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF OLD.released_at IS NOT NULL THEN
        RAISE EXCEPTION 'legal hold % is released and never changes again', OLD.id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.id IS DISTINCT FROM OLD.id OR NEW.guest_id IS DISTINCT FROM OLD.guest_id
       OR NEW.branch_id IS DISTINCT FROM OLD.branch_id OR NEW.reason IS DISTINCT FROM OLD.reason
       OR NEW.placed_by IS DISTINCT FROM OLD.placed_by
       OR NEW.placed_login IS DISTINCT FROM OLD.placed_login
       OR NEW.placed_at IS DISTINCT FROM OLD.placed_at THEN
        RAISE EXCEPTION 'legal hold % changes only by its release or a new date', OLD.id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.released_at IS NOT NULL THEN
        NEW.released_login := session_user;
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER legal_holds_guard
    BEFORE UPDATE OR DELETE ON retention.legal_holds
    FOR EACH ROW EXECUTE FUNCTION retention.legal_holds_guard();
CREATE TRIGGER legal_holds_no_truncate
    BEFORE TRUNCATE ON retention.legal_holds
    FOR EACH STATEMENT EXECUTE FUNCTION retention.legal_holds_guard();
ALTER TABLE retention.legal_holds ENABLE ALWAYS TRIGGER legal_holds_guard;
ALTER TABLE retention.legal_holds ENABLE ALWAYS TRIGGER legal_holds_no_truncate;
