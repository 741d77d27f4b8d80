//! The source of "now", and the arithmetic of a branch's local time.
//!
//! A run's cut-off and every report's evaluation time come from a clock,
//! never from SQL `now()`, so that tests are exact and a run has one fixed
//! cut-off from start to end. Local times are decided here with chrono-tz:
//! a local time that does not exist that night (spring forward) means the
//! first instant after the gap; an ambiguous one (fall back) means the
//! earlier of the two.

use chrono::{
    DateTime, Duration as ChronoDuration, LocalResult, NaiveDate, NaiveTime, TimeZone, Timelike,
    Utc,
};
use chrono_tz::Tz;

/// Tells the current time.
pub trait Clock: Send + Sync {
    /// The current instant.
    fn now(&self) -> DateTime<Utc>;
}

/// The system's wall clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that always tells the same instant (tests, `--at` previews).
#[derive(Clone, Copy, Debug)]
pub struct FixedClock(pub DateTime<Utc>);

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

/// The instant of local time `at` on local date `date` in `tz`.
pub fn due_instant(date: NaiveDate, at: NaiveTime, tz: Tz) -> DateTime<Utc> {
    let mut local = date.and_time(at);
    // A gap is at most a few hours; step to its end a minute at a time.
    for _ in 0..(24 * 60) {
        match tz.from_local_datetime(&local) {
            LocalResult::Single(t) => return t.with_timezone(&Utc),
            LocalResult::Ambiguous(earlier, later) => {
                return earlier.min(later).with_timezone(&Utc)
            }
            LocalResult::None => {
                local = (local + ChronoDuration::minutes(1))
                    .with_second(0)
                    .unwrap_or(local + ChronoDuration::minutes(1));
            }
        }
    }
    // Unreachable for real time zones; fall back to reading the time as UTC.
    date.and_time(at).and_utc()
}

/// The latest night whose run instant is at or before `now`, with that instant.
pub fn latest_due_night(now: DateTime<Utc>, at: NaiveTime, tz: Tz) -> (NaiveDate, DateTime<Utc>) {
    let today = now.with_timezone(&tz).date_naive();
    let mut date = today;
    loop {
        let instant = due_instant(date, at, tz);
        if instant <= now {
            return (date, instant);
        }
        date = date
            .pred_opt()
            .expect("dates before year -262143 do not occur");
    }
}

/// The next night's run instant strictly after `now`.
pub fn next_instant(now: DateTime<Utc>, at: NaiveTime, tz: Tz) -> (NaiveDate, DateTime<Utc>) {
    let mut date = now.with_timezone(&tz).date_naive() - ChronoDuration::days(1);
    loop {
        let instant = due_instant(date, at, tz);
        if instant > now {
            return (date, instant);
        }
        date = date
            .succ_opt()
            .expect("dates after year 262142 do not occur");
    }
}

/// A branch's time zone, or the configured one when the branch's is not a
/// known IANA name (with a warning).
pub fn branch_time_zone(branch_id: i64, name: &str, fallback: Tz) -> Tz {
    name.parse::<Tz>().unwrap_or_else(|_| {
        tracing::warn!(
            branch_id,
            time_zone = name,
            fallback = fallback.name(),
            "branch time zone is not an IANA name; using schedule.time_zone"
        );
        fallback
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Europe::{Berlin, Lisbon, Vienna};

    fn t(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn winter_and_summer_nights_are_at_local_time() {
        assert_eq!(
            due_instant(d("2026-01-15"), t(2, 30), Berlin),
            utc("2026-01-15T01:30:00Z")
        );
        assert_eq!(
            due_instant(d("2026-07-15"), t(2, 30), Berlin),
            utc("2026-07-15T00:30:00Z")
        );
    }

    #[test]
    fn spring_gap_runs_at_the_first_instant_after_the_gap() {
        // 2026-03-29: 02:00 CET jumps to 03:00 CEST; 02:30 does not exist
        assert_eq!(
            due_instant(d("2026-03-29"), t(2, 30), Berlin),
            utc("2026-03-29T01:00:00Z")
        );
    }

    #[test]
    fn autumn_ambiguity_runs_at_the_earlier_instant() {
        // 2026-10-25: 03:00 CEST falls back to 02:00 CET; 02:30 happens twice
        assert_eq!(
            due_instant(d("2026-10-25"), t(2, 30), Berlin),
            utc("2026-10-25T00:30:00Z")
        );
    }

    /// The next `n` nightly instants from `now` on, one after another.
    fn following(now: &str, n: usize) -> Vec<(NaiveDate, DateTime<Utc>)> {
        let mut now = utc(now);
        (0..n)
            .map(|_| {
                let next = next_instant(now, t(2, 30), Berlin);
                now = next.1;
                next
            })
            .collect()
    }

    #[test]
    fn next_instants_across_both_changes_are_one_per_night() {
        assert_eq!(
            following("2026-03-27T12:00:00Z", 4),
            vec![
                (d("2026-03-28"), utc("2026-03-28T01:30:00Z")),
                (d("2026-03-29"), utc("2026-03-29T01:00:00Z")),
                (d("2026-03-30"), utc("2026-03-30T00:30:00Z")),
                (d("2026-03-31"), utc("2026-03-31T00:30:00Z")),
            ]
        );
        assert_eq!(
            following("2026-10-23T12:00:00Z", 3),
            vec![
                (d("2026-10-24"), utc("2026-10-24T00:30:00Z")),
                (d("2026-10-25"), utc("2026-10-25T00:30:00Z")),
                (d("2026-10-26"), utc("2026-10-26T01:30:00Z")),
            ]
        );
    }

    #[test]
    fn latest_due_night_switches_at_the_nightly_instant() {
        let at = t(2, 30);
        assert_eq!(
            latest_due_night(utc("2026-11-25T01:29:59Z"), at, Berlin).0,
            d("2026-11-24")
        );
        assert_eq!(
            latest_due_night(utc("2026-11-25T01:30:00Z"), at, Berlin).0,
            d("2026-11-25")
        );
        // during the repeated hour after the autumn run, the night stays the same
        assert_eq!(
            latest_due_night(utc("2026-10-25T01:45:00Z"), at, Berlin).0,
            d("2026-10-25")
        );
        // before the spring run the previous night is the latest due one
        assert_eq!(
            latest_due_night(utc("2026-03-29T00:59:00Z"), at, Berlin).0,
            d("2026-03-28")
        );
        assert_eq!(
            latest_due_night(utc("2026-03-29T01:00:00Z"), at, Berlin).0,
            d("2026-03-29")
        );
    }

    #[test]
    fn each_branch_gets_its_own_night() {
        // 02:30 in Lisbon (UTC+0 in winter) is an hour after 02:30 in Vienna
        assert_eq!(
            due_instant(d("2026-11-25"), t(2, 30), Lisbon),
            utc("2026-11-25T02:30:00Z")
        );
        assert_eq!(
            due_instant(d("2026-11-25"), t(2, 30), Vienna),
            utc("2026-11-25T01:30:00Z")
        );
        let now = utc("2026-11-25T02:00:00Z");
        assert_eq!(latest_due_night(now, t(2, 30), Vienna).0, d("2026-11-25"));
        assert_eq!(latest_due_night(now, t(2, 30), Lisbon).0, d("2026-11-24"));
    }

    #[test]
    fn unknown_branch_time_zone_falls_back() {
        assert_eq!(branch_time_zone(1, "Mars/Olympus", Berlin), Berlin);
        assert_eq!(branch_time_zone(1, "Europe/Lisbon", Berlin), Lisbon);
    }
}
