-- Export: the guest's action protocol rows. $1 guest id
SELECT id::text, at::text, actor, action, branch_id::text, guest_type, run_id::text, details::text
FROM retention.action_protocol WHERE guest_id = $1::bigint ORDER BY id
