-- The chain's head: the newest seal's position and hash (migration 12).
-- Every row: there must be exactly one, and verify checks that too.
SELECT pos, seal FROM retention.protocol_seal_head
