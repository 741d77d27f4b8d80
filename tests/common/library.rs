//! For tests that call the library directly: settings, a manual run's
//! options and its preparation.

use super::TestDb;

/// Options of an admin's manual run ("alice") with the batch settings of `s`.
pub fn manual(s: &retentiond::settings::Settings) -> retentiond::retention::run::RunOptions {
    retentiond::retention::run::RunOptions {
        kind: retentiond::model::RunKind::Manual,
        actor: "alice".into(),
        night: None,
        time_left: None,
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

/// The core's context for `settings` with the clock standing at `at`.
pub fn context(
    settings: retentiond::settings::Settings,
    at: chrono::DateTime<chrono::Utc>,
) -> retentiond::retention::Context {
    let clock = std::sync::Arc::new(retentiond::clock::FixedClock(at));
    retentiond::retention::Context::new(settings, clock).unwrap()
}

/// A manual run's preparation over `branches` with the clock at `at`
/// (no waiting for a busy branch).
pub async fn prepare(
    cx: &retentiond::retention::Context,
    branches: &[i64],
) -> retentiond::retention::run::Prepared {
    retentiond::retention::run::prepare(cx, branches, cx.now(), std::time::Duration::ZERO)
        .await
        .unwrap()
}
