-- The approved erasures sealed after position $1 up to $2, with the seal
-- that covers each approval's protocol row: only those the database holds
-- as requests of the same guest approved by a second login, with the
-- logins the request holds (a row written by hand, with no such request or
-- a value that is not a request id, is skipped, never a failure), and the
-- guest's creation time, which tells it from a guest that takes its id again.
SELECT s.pos, s.seal, p.at, q.id AS request, p.guest_id,
       q.requested_login, q.decided_login AS approved_login,
       retention.readable_time(g.created_at) AS guest_created_at
FROM retention.protocol_seals s
CROSS JOIN LATERAL unnest(s.row_ids) AS r (id)
JOIN retention.action_protocol p ON p.id = r.id
JOIN retention.erasure_requests q
  ON q.id = retention.detail_bigint(p.details, 'request_id') AND q.guest_id = p.guest_id
     AND q.status = 'approved' AND q.decided_login IS NOT NULL
     AND q.decided_login <> q.requested_login
LEFT JOIN public.guests g ON g.id = p.guest_id
WHERE s.pos > $1 AND s.pos <= $2 AND p.action = 'erasure_approved'
  AND retention.readable_time(p.at) IS NOT NULL
ORDER BY p.id
