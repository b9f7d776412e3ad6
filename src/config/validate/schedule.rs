//! `[schedule]`: the jobs that are on, in a fixed order, and their zone.

use crate::config::model::{JobKind, ScheduleConfig};
use crate::config::raw::RawSchedule;
use crate::config::value::CronExpr;

pub(super) fn schedule(raw: RawSchedule) -> ScheduleConfig {
    let exprs = [
        (JobKind::Check, raw.check),
        (JobKind::Update, raw.update),
        (JobKind::Baseline, raw.baseline),
        (JobKind::Housekeeping, raw.housekeeping),
    ];
    let jobs = exprs
        .into_iter()
        .filter_map(|(job, expr)| match expr {
            Some(CronExpr(Some(s))) => Some((job, s.source().to_owned(), s)),
            _ => None,
        })
        .collect();
    ScheduleConfig {
        timezone: raw.timezone.map_or(jiff::tz::TimeZone::UTC, |tz| tz.zone),
        jobs,
    }
}
