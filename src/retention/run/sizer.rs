//! How many guests the next batch of a run takes: it starts at
//! `batch.size` and, after each window of batches at one size, moves
//! toward the size whose row-lock holds would be half of
//! `batch.max_lock_hold`: it grows (up to `batch.max_size`, at most
//! doubling) while their holds stay under about 45 % of the bound (a tenth
//! more room at least), and shrinks (at most halving) when they reach two
//! thirds of it. It settles where a batch holds its locks between the two,
//! so that a slower batch still fits.
//! It halves as soon as a batch holds its locks longer than the bound or
//! meets a row another transaction (the POS) holds. A run's batches thus
//! fit the night's shape of data without a hand-tuned size, and a busy
//! restaurant gets smaller transactions at once.

use std::time::Duration;

use serde::Serialize;

use crate::settings::BatchSettings;

/// Batches at one size before it may change: the p99 of so few holds is
/// their maximum, so one slow batch among them is enough to keep the size
/// from growing (or, near the bound, to shrink it).
const WINDOW: usize = 4;

/// Growth below this factor is not worth a new window (nor the noise).
const MIN_GROWTH: f64 = 1.1;

/// The room (half the bound over the window's p99) at or below which the
/// size shrinks: holds of two thirds of the bound or more leave little
/// room for a slower batch.
const MAX_SHRINK: f64 = 0.75;

/// The size of the next batch, from the holds of the last ones.
#[derive(Clone, Debug)]
pub(super) struct BatchSizer {
    size: u32,
    max_size: u32,
    bound: Duration,
    /// Holds of the batches at the current size (at most `WINDOW`).
    recent: Vec<Duration>,
    sizes: BatchSizes,
}

/// The sizes a run's batches took, for its report.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct BatchSizes {
    /// The first batch's size (`batch.size`, capped by `batch.max_size`).
    pub first: u32,
    /// The smallest size a batch was given.
    pub smallest: u32,
    /// The largest size a batch was given.
    pub largest: u32,
    /// The size the next batch would have had.
    pub last: u32,
}

/// What a batch met besides its own rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Contention {
    /// Every row it asked for was free.
    None,
    /// Another transaction held some of its rows (left for later), or it
    /// gave up waiting for a lock.
    MetLockedRow,
}

impl BatchSizer {
    /// Starts at `batch.size` (validation keeps it within `batch.max_size`).
    pub(super) fn new(settings: &BatchSettings) -> Self {
        let size = settings.size.clamp(1, settings.max_size.max(1));
        BatchSizer {
            size,
            max_size: settings.max_size.max(1),
            bound: settings.max_lock_hold,
            recent: Vec::with_capacity(WINDOW),
            sizes: BatchSizes {
                first: size,
                smallest: size,
                largest: size,
                last: size,
            },
        }
    }

    /// Guests the next batch takes.
    pub(super) fn size(&self) -> u32 {
        self.size
    }

    /// What the batches' sizes were.
    pub(super) fn sizes(&self) -> &BatchSizes {
        &self.sizes
    }

    /// Counts one batch of the current size: how long it held its row
    /// locks and whether it met a row someone else held.
    pub(super) fn record(&mut self, hold: Duration, contention: Contention) {
        if contention == Contention::MetLockedRow || hold > self.bound {
            self.resize((self.size / 2).max(1));
            return;
        }
        if self.recent.len() == WINDOW {
            self.recent.remove(0);
        }
        self.recent.push(hold);
        let p99 = self.recent.iter().max().copied().unwrap_or_default();
        if self.recent.len() == WINDOW {
            // the size whose holds would be half the bound, at most twice
            // this one (at least half: a hold over the bound returned above)
            let room = (self.bound.as_secs_f64() / 2.0) / p99.as_secs_f64().max(1e-6);
            let next = (f64::from(self.size) * room.min(2.0)) as u32;
            if room >= MIN_GROWTH {
                // at least one guest more: a small size grows too
                self.resize(next.max(self.size + 1).min(self.max_size));
            } else if room <= MAX_SHRINK {
                self.resize(next.max(1));
            }
        }
    }

    fn resize(&mut self, size: u32) {
        if size != self.size {
            tracing::debug!(from = self.size, to = size, "batch size changed");
            self.size = size;
            self.recent.clear();
        }
        self.sizes.smallest = self.sizes.smallest.min(size);
        self.sizes.largest = self.sizes.largest.max(size);
        self.sizes.last = size;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sizer(size: u32, max_size: u32) -> BatchSizer {
        BatchSizer::new(&BatchSettings {
            size,
            max_size,
            max_lock_hold: Duration::from_millis(100),
            pause: Duration::ZERO,
            lock_timeout: Duration::from_secs(2),
            statement_timeout: Duration::from_secs(60),
        })
    }

    fn batches(s: &mut BatchSizer, n: usize, ms: u64) {
        for _ in 0..n {
            s.record(Duration::from_millis(ms), Contention::None);
        }
    }

    #[test]
    fn the_first_batch_takes_batch_size() {
        assert_eq!(sizer(1000, 20_000).size(), 1000);
    }

    #[test]
    fn batches_well_under_the_bound_double_after_a_window() {
        let mut s = sizer(1000, 20_000);
        batches(&mut s, WINDOW - 1, 20);
        assert_eq!(s.size(), 1000, "not before a whole window");
        batches(&mut s, 1, 20);
        assert_eq!(s.size(), 2000);
        batches(&mut s, WINDOW, 25);
        assert_eq!(
            s.size(),
            4000,
            "a quarter of the bound: room for twice as many"
        );
    }

    #[test]
    fn batches_grow_in_proportion_to_the_room_under_half_the_bound() {
        let mut s = sizer(1000, 20_000);
        batches(&mut s, WINDOW, 40);
        assert_eq!(s.size(), 1250, "40 ms of 50: a quarter more");
        batches(&mut s, WINDOW, 47);
        assert_eq!(s.size(), 1250, "less than a tenth more is not worth it");
    }

    #[test]
    fn growth_stops_at_the_cap() {
        let mut s = sizer(1000, 3000);
        batches(&mut s, 10 * WINDOW, 1);
        assert_eq!(s.size(), 3000);
        assert_eq!(s.sizes().largest, 3000);
    }

    #[test]
    fn holds_over_half_the_bound_keep_the_size() {
        let mut s = sizer(1000, 20_000);
        batches(&mut s, 3 * WINDOW, 51);
        assert_eq!(s.size(), 1000);
        batches(&mut s, 3 * WINDOW, 66);
        assert_eq!(s.size(), 1000, "under two thirds of the bound");
    }

    #[test]
    fn holds_near_the_bound_shrink_the_size_toward_half_the_bound() {
        let mut s = sizer(1000, 20_000);
        batches(&mut s, WINDOW - 1, 80);
        assert_eq!(s.size(), 1000, "not before a whole window");
        batches(&mut s, 1, 80);
        assert_eq!(s.size(), 625, "80 ms: the size whose holds would be 50 ms");
        batches(&mut s, WINDOW, 99);
        assert_eq!(s.size(), 315);
        batches(&mut s, WINDOW, 100);
        assert_eq!(s.size(), 157, "holds at the bound: half the size");
        assert_eq!(s.sizes().smallest, 157);
    }

    #[test]
    fn one_slow_batch_in_the_window_keeps_the_size() {
        let mut s = sizer(1000, 20_000);
        batches(&mut s, 2, 10);
        batches(&mut s, 1, 60);
        batches(&mut s, WINDOW - 1, 10);
        assert_eq!(s.size(), 1000, "the 60 ms batch is still in the window");
        batches(&mut s, 1, 10);
        assert_eq!(s.size(), 2000, "once it has left the window");
    }

    #[test]
    fn a_batch_over_the_bound_halves_the_size() {
        let mut s = sizer(1000, 20_000);
        batches(&mut s, 1, 101);
        assert_eq!(s.size(), 500);
        assert_eq!(s.sizes().smallest, 500);
    }

    #[test]
    fn a_row_held_elsewhere_halves_the_size() {
        let mut s = sizer(1000, 20_000);
        s.record(Duration::from_millis(1), Contention::MetLockedRow);
        assert_eq!(s.size(), 500);
    }

    #[test]
    fn after_shrinking_a_whole_new_window_is_needed_to_grow() {
        let mut s = sizer(1000, 20_000);
        batches(&mut s, WINDOW - 1, 10);
        batches(&mut s, 1, 200);
        assert_eq!(s.size(), 500);
        batches(&mut s, WINDOW - 1, 10);
        assert_eq!(s.size(), 500);
        batches(&mut s, 1, 10);
        assert_eq!(s.size(), 1000);
    }

    #[test]
    fn a_small_size_grows_by_at_least_one_guest() {
        let mut s = sizer(1, 20_000);
        batches(&mut s, WINDOW, 40);
        assert_eq!(s.size(), 2, "1.25 times one guest");
        batches(&mut s, WINDOW, 46);
        assert_eq!(s.size(), 2, "less than a tenth more room: no growth");
        batches(&mut s, WINDOW, 45);
        assert_eq!(s.size(), 3, "a ninth more room: one guest more");
    }

    #[test]
    fn the_size_never_drops_below_one_guest() {
        let mut s = sizer(2, 20_000);
        for _ in 0..5 {
            s.record(Duration::from_secs(1), Contention::None);
        }
        assert_eq!(s.size(), 1);
    }

    #[test]
    fn the_report_names_first_smallest_largest_and_last() {
        let mut s = sizer(1000, 20_000);
        batches(&mut s, 2 * WINDOW, 1);
        s.record(Duration::from_secs(1), Contention::None);
        assert_eq!(
            s.sizes(),
            &BatchSizes {
                first: 1000,
                smallest: 1000,
                largest: 4000,
                last: 2000
            }
        );
    }
}
