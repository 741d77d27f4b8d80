-- Parses and checks a retention period.
-- $1 text: the period as the user wrote it ('3 years'); raises SQLSTATE class 22 when unparseable.
-- A negative part shows as a minus sign in the normal form (IntervalStyle postgres).
SELECT p::text AS normal,
       p > interval '0' AS positive,
       p::text LIKE '%-%' AS has_negative_part,
       p >= interval '1 day' AS at_least_a_day,
       p <= interval '100 years' AS at_most_a_century
FROM (SELECT $1::text::interval AS p) period
