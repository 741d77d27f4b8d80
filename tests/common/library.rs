//! For tests that call the library directly: settings, a manual run's
//! options and its preparation.

use super::TestDb;

/// Options of an admin's manual run ("alice") with the batch settings of `s`.
pub fn manual(s: &retentiond::settings::Settings) -> retentiond::retention::run::RunOptions {
    retentiond::retention::run::RunOptions {
        kind: retentiond::model::RunKind::Manual,
        actor: "alice".into(),
        night: None,
        window: None,
        guard: None,
        batch: s.batch.clone(),
        notify: None,
    }
}

/// Settings for calling the library on this database: no pause between
/// batches, then the TOML of `extra` (read inside `[batch]` until it opens
/// another section).
pub fn settings(db: &TestDb, extra: &str) -> retentiond::settings::Settings {
    retentiond::settings::Settings::from_toml(&format!(
        "[database]\nurl = {:?}\n[batch]\npause = \"0s\"\n{extra}",
        db.url
    ))
    .unwrap()
}

/// A manual run's preparation over `branches` with the clock at `at`
/// (no waiting for a busy branch).
pub async fn prepare(
    pool: &retentiond::db::DbPool,
    branches: &[i64],
    at: chrono::DateTime<chrono::Utc>,
) -> retentiond::retention::run::Prepared {
    retentiond::retention::run::prepare(
        pool,
        branches,
        at,
        at,
        std::time::Duration::ZERO,
        &tokio_util::sync::CancellationToken::new(),
    )
    .await
    .unwrap()
}
