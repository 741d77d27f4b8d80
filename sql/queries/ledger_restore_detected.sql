-- Records a restore found by the ledger (retention_api.restore_detected).
SELECT retention_api.restore_detected($1, $2, $3, $4)
