-- Whether PostgreSQL accepts a branch's time zone: the one rule for SQL and
-- Rust (db::branches asks it). A branch whose zone it does not accept is
-- left out of every scan (and so of runs, reports and summaries) and
-- reported, instead of failing them all. Asking the zone parser costs
-- microseconds per branch; reading pg_timezone_names costs 30 to 130 ms per
-- statement (measured). PARALLEL UNSAFE: its exception block is a
-- subtransaction, which PostgreSQL refuses in a parallel plan, also in the
-- leader ("cannot start subtransactions during a parallel operation", seen
-- on a plain SELECT over guest_classification_scan).
CREATE OR REPLACE FUNCTION retention.valid_time_zone(name text) RETURNS boolean
LANGUAGE plpgsql STABLE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM now() AT TIME ZONE name;
    RETURN true;
EXCEPTION WHEN invalid_parameter_value THEN
    RETURN false;
END
$$;
