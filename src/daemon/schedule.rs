//! When each job is due: cron expressions (`sec min hour day-of-month month
//! day-of-week [year]`) read in `schedule.timezone`, the next run after a
//! given time, and whether a run was missed while the service was down (a
//! missed job runs once at start-up, however many ticks it missed).

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;

/// The first tick of `schedule` strictly after `t`, in `tz`.
pub fn next_after(
    schedule: &cron::Schedule,
    tz: Tz,
    t: jiff::Timestamp,
) -> Option<jiff::Timestamp> {
    let utc: DateTime<Utc> = Utc.timestamp_opt(t.as_second(), 0).single()?;
    let local = utc.with_timezone(&tz);
    let next = schedule.after(&local).next()?;
    jiff::Timestamp::from_second(next.timestamp()).ok()
}

/// Whether a tick fell between `last_run` and `now` (so the service missed
/// it while it was not running).
pub fn missed(
    schedule: &cron::Schedule,
    tz: Tz,
    last_run: jiff::Timestamp,
    now: jiff::Timestamp,
) -> bool {
    next_after(schedule, tz, last_run).is_some_and(|n| n <= now)
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    fn ts(s: &str) -> jiff::Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn next_tick_honours_the_time_zone() {
        // 03:00 every day in Berlin is 02:00 UTC in winter.
        let s = cron::Schedule::from_str("0 0 3 * * *").unwrap();
        let tz: Tz = "Europe/Berlin".parse().unwrap();
        assert_eq!(
            next_after(&s, tz, ts("2026-12-01T10:00:00Z")),
            Some(ts("2026-12-02T02:00:00Z"))
        );
        assert_eq!(
            next_after(&s, Tz::UTC, ts("2026-12-01T10:00:00Z")),
            Some(ts("2026-12-02T03:00:00Z"))
        );
    }

    #[test]
    fn downtime_is_one_miss_not_many() {
        let s = cron::Schedule::from_str("0 * * * * *").unwrap();
        let last = ts("2026-12-01T10:00:30Z");
        assert!(missed(&s, Tz::UTC, last, ts("2026-12-01T12:00:00Z")));
        assert!(!missed(&s, Tz::UTC, last, ts("2026-12-01T10:00:59Z")));
        assert!(missed(&s, Tz::UTC, last, ts("2026-12-01T10:01:00Z")));
    }
}
