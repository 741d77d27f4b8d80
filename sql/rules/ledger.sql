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

CREATE OR REPLACE FUNCTION retention_api.restore_detected(
    missing_from bigint, missing_to bigint, last_seen timestamptz, actor text
) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF missing_from IS NULL OR missing_to IS NULL OR last_seen IS NULL OR missing_from < 1
       OR missing_to < missing_from OR last_seen > now() + interval '5 minutes' THEN
        RAISE EXCEPTION 'a restore is recorded with the range of the missing seals and the time '
                        'the last of them was seen, not in the future' USING ERRCODE = 'RT001';
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
BEGIN
    SELECT p.id INTO restore FROM retention.action_protocol p
    WHERE p.action = 'restore_detected'
      AND (p.details ->> 'missing_from')::bigint <= seal_pos
      AND (p.details ->> 'missing_to')::bigint >= seal_pos
      AND (p.details ->> 'last_seen')::timestamptz >= decided_at
    ORDER BY p.id DESC
    LIMIT 1;
    IF restore IS NULL THEN
        RAISE EXCEPTION 'erasure request % (seal %) was not lost with a restore that the protocol '
                        'records: nothing to replay', request, seal_pos USING ERRCODE = 'RT003';
    END IF;
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
    PERFORM retention.protocol_row(actor, 'erasure_replayed', g.branch_id, guest, NULL, NULL,
        jsonb_build_object('request_id', request, 'seal_pos', seal_pos, 'seal', seal_hash,
                           'requested_login', requested_login, 'approved_login', approved_login,
                           'decided_at', decided_at, 'restore_row', restore));
    RETURN 'replayed';
END
$$;

-- Only granted logins run the API (as in api.sql).
REVOKE ALL ON FUNCTION retention_api.restore_detected(bigint, bigint, timestamptz, text),
    retention_api.erasure_replay(bigint, bigint, bigint, text, text, text, timestamptz, text)
    FROM PUBLIC;
SELECT retention.grant_runtime(g.login) FROM retention.granted_logins g
WHERE EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = g.login);
