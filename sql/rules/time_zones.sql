-- Whether PostgreSQL accepts a branch's time zone: the one rule for SQL and
-- Rust (db::branches asks it). A branch whose zone it does not accept is
-- left out of every scan (and so of runs, reports and summaries) and
-- reported, instead of failing them all. Asking the zone parser costs
-- microseconds per branch; reading pg_timezone_names costs 30 to 130 ms per
-- statement (measured).
CREATE OR REPLACE FUNCTION retention.valid_time_zone(name text) RETURNS boolean
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM now() AT TIME ZONE name;
    RETURN true;
EXCEPTION WHEN invalid_parameter_value THEN
    RETURN false;
END
$$;
