//! When each job is due: cron expressions (`sec min hour day-of-month month
//! day-of-week [year]`) read in `schedule.timezone`, the next run after a
//! given time, and whether a run was missed while the service was down (a
//! missed job runs once at start-up, however many ticks it missed).
//!
//! The API is jiff's (timestamps, time zones). The `cron` crate only walks
//! wall-clock times: it is handed the local wall clock as if it were UTC,
//! and each tick it proposes is placed in the time zone by jiff. A wall
//! clock that does not exist (the hour skipped when clocks go forward) is
//! passed over; one that exists twice (clocks go back) is its earlier
//! instant. That is what `cron` did itself in a `chrono-tz` zone, so the
//! schedules are unchanged; chrono stays inside this file.

use chrono::{Datelike, NaiveDate, TimeZone as _, Timelike, Utc};
use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::{AmbiguousOffset, TimeZone};

/// Wall-clock ticks tried past `t` before giving up (a year of minutely
/// ticks in a zone whose clocks never stop skipping is not a schedule).
const MAX_TICKS: usize = 1_000_000;

/// The first tick of `schedule` strictly after `t` (counted from `t`'s whole
/// second), in `tz`.
pub fn next_after(schedule: &cron::Schedule, tz: &TimeZone, t: Timestamp) -> Option<Timestamp> {
    let wall = tz.to_datetime(Timestamp::from_second(t.as_second()).ok()?);
    let wall = Utc.from_utc_datetime(&to_naive(wall)?);
    for tick in schedule.after(&wall).take(MAX_TICKS) {
        let civil = to_civil(tick.naive_utc())?;
        match tz.to_ambiguous_timestamp(civil).offset() {
            AmbiguousOffset::Unambiguous { offset } => return offset.to_timestamp(civil).ok(),
            AmbiguousOffset::Fold { before, .. } => return before.to_timestamp(civil).ok(),
            AmbiguousOffset::Gap { .. } => continue,
        }
    }
    None
}

/// Whether a tick fell between `last_run` and `now` (so the service missed
/// it while it was not running).
pub fn missed(
    schedule: &cron::Schedule,
    tz: &TimeZone,
    last_run: Timestamp,
    now: Timestamp,
) -> bool {
    next_after(schedule, tz, last_run).is_some_and(|n| n <= now)
}

fn to_naive(d: DateTime) -> Option<chrono::NaiveDateTime> {
    NaiveDate::from_ymd_opt(i32::from(d.year()), d.month() as u32, d.day() as u32)?.and_hms_opt(
        d.hour() as u32,
        d.minute() as u32,
        d.second() as u32,
    )
}

fn to_civil(d: chrono::NaiveDateTime) -> Option<DateTime> {
    DateTime::new(
        i16::try_from(d.year()).ok()?,
        d.month() as i8,
        d.day() as i8,
        d.hour() as i8,
        d.minute() as i8,
        d.second() as i8,
        0,
    )
    .ok()
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn cron(expr: &str) -> cron::Schedule {
        cron::Schedule::from_str(expr).unwrap()
    }

    #[test]
    fn next_tick_honours_the_time_zone() {
        // 03:00 every day in Berlin is 02:00 UTC in winter.
        let s = cron("0 0 3 * * *");
        let tz = TimeZone::get("Europe/Berlin").unwrap();
        assert_eq!(
            next_after(&s, &tz, ts("2026-12-01T10:00:00Z")),
            Some(ts("2026-12-02T02:00:00Z"))
        );
        assert_eq!(
            next_after(&s, &TimeZone::UTC, ts("2026-12-01T10:00:00Z")),
            Some(ts("2026-12-02T03:00:00Z"))
        );
    }

    #[test]
    fn downtime_is_one_miss_not_many() {
        let s = cron("0 * * * * *");
        let last = ts("2026-12-01T10:00:30Z");
        let utc = TimeZone::UTC;
        assert!(missed(&s, &utc, last, ts("2026-12-01T12:00:00Z")));
        assert!(!missed(&s, &utc, last, ts("2026-12-01T10:00:59Z")));
        assert!(missed(&s, &utc, last, ts("2026-12-01T10:01:00Z")));
    }

    #[test]
    fn a_tick_inside_the_current_second_is_not_next() {
        // counted from the whole second: 10:00:00.5 is past the 10:00:00
        // tick, so the next is 10:01:00
        let s = cron("0 * * * * *");
        assert_eq!(
            next_after(&s, &TimeZone::UTC, ts("2026-12-01T10:00:00.5Z")),
            Some(ts("2026-12-01T10:01:00Z"))
        );
    }

    /// Regression: `jiff-cron` 0.3 skipped the whole day when the clocks
    /// changed; the daily job must still run that day.
    #[test]
    fn a_daily_job_runs_on_the_days_the_clocks_change() {
        let tz = TimeZone::get("Europe/Berlin").unwrap();
        let s = cron("0 0 3 * * *");
        // summer time from 02:00 on 2027-03-28: that day's 03:00 is 01:00 UTC
        assert_eq!(
            next_after(&s, &tz, ts("2027-03-28T00:30:00Z")),
            Some(ts("2027-03-28T01:00:00Z"))
        );
        // winter time from 03:00 on 2027-10-31: that day's 03:00 is 02:00 UTC
        assert_eq!(
            next_after(&s, &tz, ts("2027-10-30T23:00:00Z")),
            Some(ts("2027-10-31T02:00:00Z"))
        );
    }

    #[test]
    fn a_skipped_wall_clock_is_passed_over_and_a_repeated_one_runs_early() {
        let tz = TimeZone::get("Europe/Berlin").unwrap();
        let s = cron("0 30 2 * * *");
        // 02:30 does not exist on 2027-03-28: next is 02:30 CEST on the 29th
        assert_eq!(
            next_after(&s, &tz, ts("2027-03-28T00:00:00Z")),
            Some(ts("2027-03-29T00:30:00Z"))
        );
        // 02:30 exists twice on 2027-10-31: the earlier one (CEST)
        assert_eq!(
            next_after(&s, &tz, ts("2027-10-30T23:00:00Z")),
            Some(ts("2027-10-31T00:30:00Z"))
        );
    }
}
