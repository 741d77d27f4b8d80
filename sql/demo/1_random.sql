-- The generator's parameters, and a reproducible uniform number in [0, 1)
-- for (row id, salt, seed): the same seed gives the same data on every run.
CREATE TEMP TABLE demo_params (
    branches bigint NOT NULL,
    anchor   timestamptz NOT NULL,
    seed     integer NOT NULL,
    guests   bigint NOT NULL
) ON COMMIT DROP;

CREATE FUNCTION pg_temp.demo_rand(id bigint, salt integer, seed integer) RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT ((hashint8extended(id, seed::bigint * 1000003 + salt) >> 11)
            & ((1::bigint << 53) - 1))::float8 / (1::bigint << 53)::float8
$$;
