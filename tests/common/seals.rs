//! The protocol's hash chain from outside: rows written the way the
//! database writes them, tampering done as a superuser would do it, and
//! `protocol verify` read back.

use serde_json::Value;
use tokio_postgres::Client;

use super::{stderr, TestDb};

/// `statements` INSERT statements of `per` rows each: one seal each.
pub async fn rows(c: &Client, statements: i64, per: i64) {
    for s in 0..statements {
        c.execute(
            "INSERT INTO retention.action_protocol (actor, action, branch_id, guest_id, details)
             SELECT 'seal-test', 'policy_changed', $1::bigint, CASE WHEN n % 2 = 0 THEN n END,
                    jsonb_build_object('n', n, 'note', E'it''s a \\\\ \"quoted\", value')
             FROM generate_series(1, $2::bigint) AS n",
            &[&s, &per],
        )
        .await
        .unwrap();
    }
}

/// As a superuser: runs `sql` with the triggers of the protocol, its
/// seals and their head off, then turns them on again.
pub async fn tamper(c: &Client, sql: &str) {
    c.batch_execute(&format!(
        "ALTER TABLE retention.action_protocol DISABLE TRIGGER USER;
         ALTER TABLE retention.protocol_seals DISABLE TRIGGER USER;
         ALTER TABLE retention.protocol_seal_head DISABLE TRIGGER USER;
         {sql};
         ALTER TABLE retention.action_protocol ENABLE ALWAYS TRIGGER action_protocol_append_only;
         ALTER TABLE retention.action_protocol ENABLE ALWAYS TRIGGER action_protocol_no_truncate;
         ALTER TABLE retention.action_protocol ENABLE ALWAYS TRIGGER action_protocol_sealed;
         ALTER TABLE retention.protocol_seals ENABLE ALWAYS TRIGGER protocol_seals_append_only;
         ALTER TABLE retention.protocol_seals ENABLE ALWAYS TRIGGER protocol_seals_no_truncate;
         ALTER TABLE retention.protocol_seal_head
             ENABLE ALWAYS TRIGGER protocol_seal_head_forward_only;
         ALTER TABLE retention.protocol_seal_head ENABLE ALWAYS TRIGGER protocol_seal_head_kept;"
    ))
    .await
    .unwrap();
}

/// `protocol verify --format json [extra]`: (exit code, verdict, stderr).
pub fn verify(db: &TestDb, extra: &[&str]) -> (i32, Value, String) {
    let mut args = vec!["protocol", "verify", "--format", "json"];
    args.extend_from_slice(extra);
    let out = db.cli(&args);
    let verdict = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap_or(-1), verdict, stderr(&out))
}

/// Asserts a verdict of exit 3 naming `problem` (and `row`) and saying `says`.
#[track_caller]
pub fn assert_breach(got: (i32, Value, String), problem: &str, row: Option<i64>, says: &str) {
    let (code, verdict, err) = got;
    assert_eq!(code, 3, "{verdict}\n{err}");
    assert_eq!(verdict["intact"], false, "{verdict}");
    assert_eq!(verdict["breach"]["problem"], problem, "{verdict}");
    if let Some(row) = row {
        assert_eq!(verdict["breach"]["row_id"], row, "{verdict}");
    }
    assert!(err.contains(says), "stderr names the problem: {err}");
}

/// The protocol's row ids, ascending.
pub async fn ids(c: &Client) -> Vec<i64> {
    c.query("SELECT id FROM retention.action_protocol ORDER BY id", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}
