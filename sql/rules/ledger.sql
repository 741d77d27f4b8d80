-- The ledger (src/ledger): a file outside the database that remembers the
-- protocol's seals and the approved erasures. When the database is found
-- behind it (a backup restored, or the protocol rewound), the finding is
-- recorded here, and every approved erasure the restore lost is applied
-- again as the approval did.
--
-- What the database can check of a replay is bounded: the evidence is the
-- ledger, outside it. A replay is accepted only for an approval sealed in
-- the range of missing seals that a restore_detected row records, approved
-- before the last of them was seen, and only for a guest not anonymized
-- yet; its erasure_replayed row names the request, the seal and the login.
-- `protocol verify` compares every erasure_replayed row with the ledger.

-- A protocol row's details are read as written by our functions; a value
-- written by hand (the owner can insert rows) that is not a whole number or a
-- finite time reads as NULL, so that no reader fails on it and stops.
CREATE OR REPLACE FUNCTION retention.detail_bigint(details jsonb, key text) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN (details ->> key) ~ '^[0-9]{1,18}$' THEN (details ->> key)::bigint END
$$;

-- A protocol row's time as a reader can take it: between the years 1 and
-- 9999 (the owner can insert rows dated where no reader could decode them).
CREATE OR REPLACE FUNCTION retention.readable_time(t timestamptz) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN t >= '0001-01-01 00:00:00+00' AND t < '10000-01-01 00:00:00+00' THEN t END
$$;

CREATE OR REPLACE FUNCTION retention.detail_time(details jsonb, key text) RETURNS timestamptz
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t timestamptz;
BEGIN
    IF jsonb_typeof(details -> key) IS DISTINCT FROM 'string'
       OR (details ->> key) !~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9:.]+([+-][0-9:]+|Z)?$' THEN
        RETURN NULL;
    END IF;
    t := (details ->> key)::timestamptz;
    RETURN retention.readable_time(t);
EXCEPTION WHEN data_exception THEN
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION retention_api.restore_detected(
    missing_from bigint, missing_to bigint, last_seen timestamptz, actor text
) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- the missing seals follow one the database has (its head is at least
    -- the last seal both agree on); they were seen in the past (a day's
    -- leeway: the ledger's times are the old server's clock; the restored
    -- protocol may be younger still, when the dump held none of it)
    IF missing_from IS NULL OR missing_to IS NULL OR last_seen IS NULL OR missing_from < 1
       OR missing_to < missing_from OR missing_to >= 1000000000000000
       OR retention.readable_time(last_seen) IS NULL
       OR missing_from > coalesce((SELECT h.pos FROM retention.protocol_seal_head h), 0) + 1
       OR last_seen > now() + interval '1 day'
       OR last_seen < now() - interval '100 years' THEN
        RAISE EXCEPTION 'a restore is recorded with the range of the missing seals (after one '
                        'the database has) and the time the last of them was seen, in the past'
            USING ERRCODE = 'RT001';
    END IF;
    PERFORM retention.protocol_row(actor, 'restore_detected', NULL, NULL, NULL, NULL,
        jsonb_build_object('missing_from', missing_from, 'missing_to', missing_to,
                           'last_seen', last_seen,
                           'head', (SELECT h.pos FROM retention.protocol_seal_head h)));
END
$$;

CREATE OR REPLACE FUNCTION retention_api.erasure_replay(
    request bigint, guest bigint, seal_pos bigint, seal_hash text, requested_login text,
    approved_login text, decided_at timestamptz, actor text
) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    g record;
    restore bigint;
    closed integer;
BEGIN
    SELECT p.id INTO restore FROM retention.action_protocol p
    WHERE p.branch_id IS NULL AND p.action = 'restore_detected'
      AND retention.detail_bigint(p.details, 'missing_from') <= seal_pos
      AND retention.detail_bigint(p.details, 'missing_to') >= seal_pos
      AND retention.detail_time(p.details, 'last_seen') >= decided_at
      AND retention.detail_time(p.details, 'last_seen') <= p.at + interval '1 day'
    ORDER BY p.id DESC
    LIMIT 1;
    IF restore IS NULL OR request IS NULL OR guest IS NULL OR NOT isfinite(decided_at) THEN
        RAISE EXCEPTION 'erasure request % (seal %) was not lost with a restore that the protocol '
                        'records: nothing to replay', request, seal_pos USING ERRCODE = 'RT003';
    END IF;
    -- (the request itself may be gone, or its id taken again by a new
    -- request, and the guest's id by a new guest: the restore set the
    -- sequences back; only the ledger knows, and the caller asks it)
    SELECT x.branch_id, x.anonymized_at INTO g FROM public.guests x WHERE x.id = guest;
    IF NOT FOUND THEN
        RETURN 'missing';
    END IF;
    IF g.anonymized_at IS NOT NULL THEN
        RETURN 'already';
    END IF;
    PERFORM retention.refuse_when_paused(ARRAY[g.branch_id]);
    IF cardinality(retention.lock_guests(ARRAY[guest])) = 0 THEN
        RAISE EXCEPTION 'guest % is being changed right now (row locked); try again in a moment',
            guest USING ERRCODE = 'RT005';
    END IF;
    IF EXISTS (SELECT 1 FROM public.guests x WHERE x.id = guest AND x.anonymized_at IS NOT NULL) THEN
        RETURN 'already';
    END IF;
    PERFORM 1 FROM retention.apply_guests(ARRAY[guest], now(), actor, NULL, ARRAY[guest],
        jsonb_build_object('request_id', request, 'replayed', true), NULL);
    IF NOT EXISTS (SELECT 1 FROM public.guests x WHERE x.id = guest AND x.anonymized_at IS NOT NULL) THEN
        RETURN 'blocked: ' || coalesce(retention.erasure_blocker(guest), 'not anonymized');
    END IF;
    PERFORM retention.anonymize_columns(ARRAY[guest]);
    -- the restored request, asked before the backup and decided after it,
    -- is decided now as it was (by another login than the one that asked)
    UPDATE retention.erasure_requests e
    SET status = 'approved', decided_by = actor, decided_at = erasure_replay.decided_at,
        reason = NULL
    WHERE e.id = request AND e.guest_id = guest AND e.status = 'open'
      AND e.requested_login <> session_user;
    GET DIAGNOSTICS closed = ROW_COUNT;
    PERFORM retention.protocol_row(actor, 'erasure_replayed', g.branch_id, guest, NULL, NULL,
        jsonb_build_object('request_id', request, 'seal_pos', seal_pos, 'seal', seal_hash,
                           'requested_login', requested_login, 'approved_login', approved_login,
                           'decided_at', decided_at, 'restore_row', restore,
                           'request_closed', closed > 0));
    RETURN 'replayed';
END
$$;

-- Only granted logins run the API (as in api.sql).
REVOKE ALL ON FUNCTION retention_api.restore_detected(bigint, bigint, timestamptz, text),
    retention_api.erasure_replay(bigint, bigint, bigint, text, text, text, timestamptz, text)
    FROM PUBLIC;
SELECT retention.grant_runtime(g.login) FROM retention.granted_logins g
WHERE EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = g.login);
