-- The seal head: a bounded wait for it, and a row that only moves forward.
--
-- Every protocol write locks the head row (retention.protocol_seal_head)
-- from the end of its statement to its commit, so that seals are chained
-- in commit order. A session that inserts a protocol row and then leaves
-- its transaction open (any login granted the API can, by calling it in a
-- transaction it does not end) would stall every later protocol write,
-- and with it every run and every admin command. The wait for the head is therefore bounded: 10 s, or the
-- caller's own lock_timeout if that is shorter (a batch keeps its
-- batch.lock_timeout). Then the write fails with SQLSTATE 55P03
-- (lock_not_available, as any lock timeout: a batch leaves its guests for
-- the next run) and a message that names the session holding the head.
--
-- The head row was writable by its owner and by superusers like any row.
-- Like the seals (migration 12) it is now guarded by triggers that fire
-- for everyone (ENABLE ALWAYS): it cannot be deleted, truncated or
-- doubled, and an UPDATE may only step it forward by one seal, to the
-- seal stored at that position. Rewinding the head (to hide removed seals
-- at the chain's end) needs the triggers disabled first, which only the
-- owner or a superuser can do.

CREATE OR REPLACE FUNCTION retention.seal_protocol_rows() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    head   record;
    block  record;
    -- the longest wait for the head, in ms; the caller's lock_timeout if shorter
    bound  bigint := 10000;
    caller text;
    holder text;
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
    -- Nearly always the head is free (or ours already): no wait, no
    -- subtransaction. Otherwise wait for it, within the bound.
    SELECT h.pos, h.seal INTO head FROM retention.protocol_seal_head h FOR UPDATE SKIP LOCKED;
    IF NOT FOUND THEN
        caller := current_setting('lock_timeout');
        SELECT least(bound, nullif(s.setting::bigint, 0)) INTO bound
        FROM pg_settings s WHERE s.name = 'lock_timeout';
        BEGIN
            PERFORM set_config('lock_timeout', bound || 'ms', true);
            SELECT h.pos, h.seal INTO head FROM retention.protocol_seal_head h FOR UPDATE;
            PERFORM set_config('lock_timeout', caller, true);
        EXCEPTION WHEN lock_not_available THEN
            -- the holder: the transaction that locked the head row, if it
            -- still holds a lock on the head's table
            SELECT string_agg(DISTINCT l.pid::text, ', ') INTO holder
            FROM pg_locks l
            WHERE l.locktype = 'transactionid' AND l.granted
              AND l.transactionid = (SELECT h.xmax FROM retention.protocol_seal_head h LIMIT 1)
              AND EXISTS (SELECT 1 FROM pg_locks t
                          WHERE t.pid = l.pid AND t.granted AND t.locktype = 'relation'
                            AND t.relation = 'retention.protocol_seal_head'::regclass);
            RAISE EXCEPTION 'the action protocol''s seal head is held by another session (%) '
                            'whose transaction is still open; gave up after % ms, nothing was '
                            'written. End that transaction (COMMIT or ROLLBACK in it, or '
                            'SELECT pg_terminate_backend(pid)) and try again',
                            coalesce('pid ' || holder, 'see pg_stat_activity'), bound
                USING ERRCODE = 'lock_not_available';
        END;
    END IF;
    IF head.pos IS NULL THEN
        RAISE EXCEPTION 'the action protocol''s seal head (retention.protocol_seal_head) is '
                        'missing: nothing can be sealed; run retentiond protocol verify'
            USING ERRCODE = 'data_corrupted';
    END IF;
    INSERT INTO retention.protocol_seals (pos, row_ids, fingerprints, seal)
    VALUES (head.pos + 1, block.ids, block.fingerprints, sha256(head.seal || block.body))
    RETURNING pos, seal INTO head;
    UPDATE retention.protocol_seal_head SET pos = head.pos, seal = head.seal;
    RETURN NULL;
END
$$;

REVOKE ALL ON FUNCTION retention.seal_protocol_rows() FROM PUBLIC;

-- Row by row: an UPDATE only as one step forward to the seal stored at
-- the new position; an INSERT only into an empty table (there is one head).
CREATE FUNCTION retention.guard_protocol_seal_head() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND NEW.only_row IS NOT DISTINCT FROM OLD.only_row
       AND NEW.pos = OLD.pos + 1
       AND NEW.seal = (SELECT s.seal FROM retention.protocol_seals s WHERE s.pos = NEW.pos)
    THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'INSERT' AND NOT EXISTS (SELECT 1 FROM retention.protocol_seal_head) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'retention.protocol_seal_head only moves forward, one seal at a time: '
                    'this % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'The head is moved by the sealing trigger of retention.action_protocol.';
END
$$;

-- Statement-level, so that even a DELETE matching no row is refused.
CREATE FUNCTION retention.reject_protocol_seal_head_removal() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RAISE EXCEPTION 'retention.protocol_seal_head is never removed: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

REVOKE ALL ON FUNCTION retention.guard_protocol_seal_head(),
                       retention.reject_protocol_seal_head_removal() FROM PUBLIC;

CREATE TRIGGER protocol_seal_head_forward_only
    BEFORE INSERT OR UPDATE ON retention.protocol_seal_head
    FOR EACH ROW EXECUTE FUNCTION retention.guard_protocol_seal_head();
CREATE TRIGGER protocol_seal_head_kept
    BEFORE DELETE OR TRUNCATE ON retention.protocol_seal_head
    FOR EACH STATEMENT EXECUTE FUNCTION retention.reject_protocol_seal_head_removal();
ALTER TABLE retention.protocol_seal_head ENABLE ALWAYS TRIGGER protocol_seal_head_forward_only;
ALTER TABLE retention.protocol_seal_head ENABLE ALWAYS TRIGGER protocol_seal_head_kept;
