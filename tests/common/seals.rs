//! The protocol's hash chain from outside: rows written the way the
//! database writes them, tampering done as a superuser would do it, and
//! `protocol verify` read back.

use serde_json::Value;
use tokio_postgres::Client;

use super::{stderr, TestDb};

/// The canonical form of a protocol row `p`, as migration 12 defines it.
pub const CANONICAL: &str = "concat_ws(',', p.id, (extract(epoch FROM p.at) * 1000000)::bigint,
    quote_nullable(p.actor), quote_nullable(p.action),
    coalesce(p.branch_id::text, '-'), coalesce(p.guest_id::text, '-'),
    quote_nullable(p.guest_type), coalesce(p.run_id::text, '-'),
    quote_nullable(p.details::text))";

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

/// As a superuser, with the triggers off: recomputes the hash of seal
/// `pos` from the rows it lists now, in the order listed, chained on the
/// seal before it exactly as the database would, and moves the head to
/// it. For the newest seal: the chain then holds in itself again.
pub async fn reseal(c: &Client, pos: i64) {
    tamper(
        c,
        &format!(
            "UPDATE retention.protocol_seals s
             SET seal = sha256(
                     coalesce((SELECT b.seal FROM retention.protocol_seals b WHERE b.pos = {pos} - 1),
                              decode(repeat('00', 32), 'hex'))
                     || (SELECT string_agg(convert_to({CANONICAL}, 'UTF8'), '\\x0a'::bytea
                                           ORDER BY u.n)
                         FROM unnest(s.row_ids) WITH ORDINALITY AS u (id, n)
                         JOIN retention.action_protocol p ON p.id = u.id))
             WHERE s.pos = {pos};
             UPDATE retention.protocol_seal_head
             SET pos = {pos}, seal = (SELECT seal FROM retention.protocol_seals WHERE pos = {pos})"
        ),
    )
    .await;
}

/// `protocol verify --format json [extra]`, the chain against itself and
/// the seal given, without a ledger (tests/ledger.rs checks against one):
/// (exit code, verdict, stderr).
pub fn verify(db: &TestDb, extra: &[&str]) -> (i32, Value, String) {
    let mut args = vec!["protocol", "verify", "--format", "json"];
    args.extend_from_slice(extra);
    let out = db.cli_env(
        &args,
        &[("RETENTIOND__LEDGER__PATH", "/nonexistent/ledger")],
    );
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
