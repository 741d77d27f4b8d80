-- The action protocol: one row per action, append-only for every role.
-- Part of the contract for auditors and BI tools; never holds personal data.

CREATE TABLE retention.action_protocol (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT now(),
    actor      text NOT NULL,
    action     text NOT NULL,
    branch_id  bigint NULL,
    guest_id   bigint NULL,
    guest_type text NULL,
    run_id     bigint NULL,
    details    jsonb NOT NULL DEFAULT '{}'
);

CREATE INDEX action_protocol_branch_id_at_idx ON retention.action_protocol (branch_id, at);
CREATE INDEX action_protocol_guest_id_idx ON retention.action_protocol (guest_id)
    WHERE guest_id IS NOT NULL;
CREATE INDEX action_protocol_run_id_idx ON retention.action_protocol (run_id)
    WHERE run_id IS NOT NULL;
CREATE INDEX action_protocol_at_idx ON retention.action_protocol (at);

CREATE FUNCTION retention.reject_action_protocol_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'retention.action_protocol is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'Protocol rows are never changed or removed.';
END
$$;

-- Statement-level, so that even an UPDATE or DELETE matching no row is refused.
CREATE TRIGGER action_protocol_append_only
    BEFORE UPDATE OR DELETE ON retention.action_protocol
    FOR EACH STATEMENT EXECUTE FUNCTION retention.reject_action_protocol_change();
CREATE TRIGGER action_protocol_no_truncate
    BEFORE TRUNCATE ON retention.action_protocol
    FOR EACH STATEMENT EXECUTE FUNCTION retention.reject_action_protocol_change();
-- ALWAYS: the triggers also fire with session_replication_role = replica.
ALTER TABLE retention.action_protocol ENABLE ALWAYS TRIGGER action_protocol_append_only;
ALTER TABLE retention.action_protocol ENABLE ALWAYS TRIGGER action_protocol_no_truncate;

REVOKE UPDATE, DELETE, TRUNCATE ON retention.action_protocol FROM PUBLIC;
