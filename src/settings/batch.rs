//! `[batch]`: the first batch's size, the cap and lock-hold bound the size
//! adapts to, the pause and the timeouts of a batch transaction.

use std::time::Duration;

use super::keys::key;
use super::parse::{duration, int};
use super::raw::RawBatch;
use super::validate::Problems;
use super::BatchSettings;

pub(super) fn batch(raw: RawBatch, p: &mut Problems) -> BatchSettings {
    let size = p.take(int(key("batch.size"), raw.size.as_deref()), 250);
    let max_size = p.take(int(key("batch.max_size"), raw.max_size.as_deref()), 20_000);
    let (size, max_size) = p.take(
        batch_sizes(size, raw.size.is_some(), max_size, raw.max_size.is_some()),
        (size, max_size),
    );
    let max_lock_hold = p.take(
        duration(key("batch.max_lock_hold"), raw.max_lock_hold.as_deref()),
        Duration::from_millis(100),
    );
    let pause = p.take(
        duration(key("batch.pause"), raw.pause.as_deref()),
        Duration::ZERO,
    );
    let lock_timeout = p.take(
        duration(key("batch.lock_timeout"), raw.lock_timeout.as_deref()),
        Duration::from_secs(2),
    );
    let statement_timeout = p.take(
        duration(
            key("batch.statement_timeout"),
            raw.statement_timeout.as_deref(),
        ),
        Duration::from_secs(60),
    );
    BatchSettings {
        size: size as u32,
        max_size: max_size as u32,
        max_lock_hold,
        pause,
        lock_timeout,
        statement_timeout,
    }
}

/// The first batch's size and the cap, as (size, max_size): a cap below
/// the start is refused when both are set, and otherwise the one not set
/// gives way (the start is capped; the default cap is at least the start).
fn batch_sizes(
    size: u64,
    size_set: bool,
    max_size: u64,
    max_size_set: bool,
) -> Result<(u64, u64), String> {
    match (size_set, max_size_set) {
        (true, true) if max_size < size => Err(format!(
            "batch.max_size = \"{max_size}\" is below batch.size = \"{size}\": expected a cap \
             at least as large as the first batch"
        )),
        (_, false) => Ok((size, max_size.max(size))),
        _ => Ok((size.min(max_size), max_size)),
    }
}

#[cfg(test)]
mod tests {
    use super::batch_sizes;

    #[test]
    fn a_cap_below_the_first_batch_is_refused_when_both_are_set() {
        let e = batch_sizes(5000, true, 2000, true).unwrap_err();
        assert!(e.contains("batch.max_size = \"2000\"") && e.contains("batch.size = \"5000\""));
    }

    #[test]
    fn the_default_cap_is_at_least_the_first_batch() {
        assert_eq!(
            batch_sizes(50_000, true, 20_000, false),
            Ok((50_000, 50_000))
        );
        assert_eq!(batch_sizes(250, false, 20_000, false), Ok((250, 20_000)));
    }

    #[test]
    fn a_cap_set_below_the_default_first_batch_caps_it() {
        assert_eq!(batch_sizes(250, false, 100, true), Ok((100, 100)));
    }
}
