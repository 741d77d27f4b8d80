-- Queues a summary mail for a branch's configured recipients, once per
-- dedupe key (retention_api.outbox_enqueue); no row when queued already.
-- $1 kind, $2 dedupe key, $3 branch, $4 run, $5 locale, $6 recipients, $7 message id,
-- $8 subject, $9 text, $10 html, $11 created
SELECT o.id
FROM retention_api.outbox_enqueue($1::text, $2::text, $3::bigint, $4::bigint, $5::text,
                                  $6::text[], $7::text, $8::text, $9::text, $10::text,
                                  $11::timestamptz) AS o (id)
WHERE o.id IS NOT NULL
