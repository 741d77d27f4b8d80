-- Forgets the recorded rules before all of them are applied again.
DELETE FROM retention.schema_rules
