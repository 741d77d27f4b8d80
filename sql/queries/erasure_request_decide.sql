-- Records the decision of an open erasure request and blanks the
-- requester's free-text reason (it may name the guest).
-- $1 bigint: request, $2 text: 'approved' or 'rejected', $3 text: who,
-- $4 timestamptz: when, $5 text: why (rejections; NULL for approvals)
UPDATE retention.erasure_requests
SET status = $2::text, decided_by = $3::text, decided_at = $4::timestamptz,
    decision_reason = $5::text, reason = NULL
WHERE id = $1::bigint
