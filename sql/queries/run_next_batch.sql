-- The end of the next batch of a run's candidate lists after guest id $2:
-- its last guest id and how many candidates it takes (no row: the lists
-- are done). The batch takes the lists' candidates in guest id order,
-- across every branch of the run, so that consecutive guests share pages.
-- Only the end travels: retention_api.run_batch finds the guests by the
-- same range. Read by key from where the batch starts: the cost is
-- proportional to the batch, never to the lists.
-- $1 bigint[]: plan ids, $2 bigint: guest id done, $3 bigint: batch size
SELECT max(c.guest_id) AS upto, count(*) AS guests
FROM (
    SELECT guest_id
    FROM retention.run_candidates
    WHERE plan_id = ANY ($1::bigint[]) AND guest_id > $2::bigint
    ORDER BY guest_id
    LIMIT $3::bigint
) c
HAVING count(*) > 0
