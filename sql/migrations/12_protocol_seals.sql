-- A protocol that shows tampering, even by a superuser.
--
-- The rows of every INSERT statement into retention.action_protocol are
-- sealed together into a hash chain, by a trigger that no caller can skip:
--
--   seal(n) = sha256(seal(n - 1) || row_1 || '\n' || row_2 || ... )
--
-- over the rows' canonical forms in id order (seal(0) is 32 zero bytes).
-- The canonical form of a row is
--
--   concat_ws(',', id, microseconds since 1970 of at, quote_nullable(actor),
--             quote_nullable(action), branch_id or '-', guest_id or '-',
--             quote_nullable(guest_type), run_id or '-',
--             quote_nullable(details::text))
--
-- and is written out again in sql/queries/protocol_verify.sql on purpose:
-- `retentiond protocol verify` must not trust a function that a superuser
-- could replace. It recomputes every seal outside the database, names the
-- first row that was changed (a per-row fingerprint locates it inside its
-- seal), removed (listed in a seal, gone from the table) or inserted
-- outside the chain (in the table, in no seal), and compares the chain's
-- end with the head row. A superuser who rewrites the whole chain from
-- some row on is caught by a seal published earlier (the completed-run
-- mails and log lines carry the newest one; `protocol verify --seal`).
--
-- Sealing per statement, not per row, keeps the cost of a batch's
-- protocol rows to one hash over them; the head row's lock is held from
-- the end of the statement to the commit, so that seals are chained in
-- commit order.

CREATE TABLE retention.protocol_seals (
    pos          bigint PRIMARY KEY CHECK (pos > 0),
    row_ids      bigint[] NOT NULL,
    fingerprints bigint[] NOT NULL,
    seal         bytea NOT NULL CHECK (octet_length(seal) = 32)
);

COMMENT ON TABLE retention.protocol_seals IS
    'The hash chain over retention.action_protocol; checked by retentiond protocol verify.';

CREATE TABLE retention.protocol_seal_head (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    pos      bigint NOT NULL,
    seal     bytea NOT NULL CHECK (octet_length(seal) = 32)
);

-- the rows written before this migration: sealed together, in id order
WITH r AS (
    SELECT p.id,
           concat_ws(',', p.id, (extract(epoch FROM p.at) * 1000000)::bigint,
                     quote_nullable(p.actor), quote_nullable(p.action),
                     coalesce(p.branch_id::text, '-'), coalesce(p.guest_id::text, '-'),
                     quote_nullable(p.guest_type), coalesce(p.run_id::text, '-'),
                     quote_nullable(p.details::text)) AS canonical
    FROM retention.action_protocol p
)
INSERT INTO retention.protocol_seals (pos, row_ids, fingerprints, seal)
SELECT 1,
       array_agg(r.id ORDER BY r.id),
       array_agg(hashtextextended(r.canonical, 0) ORDER BY r.id),
       sha256(decode(repeat('00', 32), 'hex')
              || string_agg(convert_to(r.canonical, 'UTF8'), '\x0a'::bytea ORDER BY r.id))
FROM r
HAVING count(*) > 0;

INSERT INTO retention.protocol_seal_head (pos, seal)
SELECT coalesce(max(pos), 0),
       coalesce((SELECT s.seal FROM retention.protocol_seals s ORDER BY s.pos DESC LIMIT 1),
                decode(repeat('00', 32), 'hex'))
FROM retention.protocol_seals;

-- SECURITY DEFINER: the runtime role may read the seals but never write one.
CREATE FUNCTION retention.seal_protocol_rows() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    head  record;
    block record;
BEGIN
    SELECT array_agg(r.id ORDER BY r.id) AS ids,
           array_agg(hashtextextended(r.canonical, 0) ORDER BY r.id) AS fingerprints,
           string_agg(convert_to(r.canonical, 'UTF8'), '\x0a'::bytea ORDER BY r.id) AS body
    INTO block
    FROM (
        SELECT n.id,
               concat_ws(',', n.id, (extract(epoch FROM n.at) * 1000000)::bigint,
                         quote_nullable(n.actor), quote_nullable(n.action),
                         coalesce(n.branch_id::text, '-'), coalesce(n.guest_id::text, '-'),
                         quote_nullable(n.guest_type), coalesce(n.run_id::text, '-'),
                         quote_nullable(n.details::text)) AS canonical
        FROM new_rows n
    ) r;
    IF block.ids IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT h.pos, h.seal INTO head FROM retention.protocol_seal_head h FOR UPDATE;
    INSERT INTO retention.protocol_seals (pos, row_ids, fingerprints, seal)
    VALUES (head.pos + 1, block.ids, block.fingerprints, sha256(head.seal || block.body))
    RETURNING pos, seal INTO head;
    UPDATE retention.protocol_seal_head SET pos = head.pos, seal = head.seal;
    RETURN NULL;
END
$$;

REVOKE ALL ON FUNCTION retention.seal_protocol_rows() FROM PUBLIC;

CREATE TRIGGER action_protocol_sealed
    AFTER INSERT ON retention.action_protocol
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION retention.seal_protocol_rows();
ALTER TABLE retention.action_protocol ENABLE ALWAYS TRIGGER action_protocol_sealed;

-- Seals are as append-only as the rows they seal.
CREATE TRIGGER protocol_seals_append_only
    BEFORE UPDATE OR DELETE ON retention.protocol_seals
    FOR EACH STATEMENT EXECUTE FUNCTION retention.reject_action_protocol_change();
CREATE TRIGGER protocol_seals_no_truncate
    BEFORE TRUNCATE ON retention.protocol_seals
    FOR EACH STATEMENT EXECUTE FUNCTION retention.reject_action_protocol_change();
ALTER TABLE retention.protocol_seals ENABLE ALWAYS TRIGGER protocol_seals_append_only;
ALTER TABLE retention.protocol_seals ENABLE ALWAYS TRIGGER protocol_seals_no_truncate;
REVOKE ALL ON retention.protocol_seals, retention.protocol_seal_head FROM PUBLIC;

-- The runtime role reads the chain (verify, the newest seal), never writes it.
-- retention.grant_runtime (migration 11) grants the rest.
ALTER FUNCTION retention.grant_runtime(text) RENAME TO grant_runtime_tables;
CREATE FUNCTION retention.grant_runtime(role_name text) RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM retention.grant_runtime_tables(role_name);
    EXECUTE format('GRANT SELECT ON retention.protocol_seals, retention.protocol_seal_head
                    TO %I', role_name);
END
$$;

COMMENT ON FUNCTION retention.grant_runtime(text) IS
    'Grants a login role what retentiond''s daemon and commands need, no ownership.';
