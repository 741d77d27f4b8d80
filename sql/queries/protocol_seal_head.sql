-- The chain's head: the newest seal's position and hash (migration 12).
SELECT pos, seal FROM retention.protocol_seal_head
