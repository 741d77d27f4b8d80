-- Records an erasure request; nothing when the guest has an open one.
-- $1 bigint: guest, $2 bigint: branch, $3 text: reason, $4 text: requester,
-- $5 timestamptz: now
INSERT INTO retention.erasure_requests (guest_id, branch_id, reason, requested_by, requested_at)
VALUES ($1::bigint, $2::bigint, $3::text, $4::text, $5::timestamptz)
ON CONFLICT (guest_id) WHERE status = 'open' DO NOTHING
RETURNING id
