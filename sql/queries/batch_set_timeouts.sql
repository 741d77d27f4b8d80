-- Bounds the batch transaction: it gives up waiting for a row lock, and a
-- statement that takes too long is cancelled; both only for this transaction.
-- $1 text: lock_timeout (e.g. '2000ms'), $2 text: statement_timeout
SELECT set_config('lock_timeout', $1::text, true), set_config('statement_timeout', $2::text, true)
