//! The service's schedule values: an IANA time zone and cron expressions.

use std::fmt;
use std::str::FromStr;

use super::string_value;

/// An IANA time zone name, e.g. `UTC` or `Europe/Berlin`, looked up in
/// jiff's time zone database.
#[derive(Debug, Clone, PartialEq)]
pub struct TimeZoneName {
    pub name: String,
    pub zone: jiff::tz::TimeZone,
}

impl FromStr for TimeZoneName {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        jiff::tz::TimeZone::get(s)
            .map(|zone| TimeZoneName {
                name: s.to_owned(),
                zone,
            })
            .map_err(|_| format!("`{s}` is not an IANA time zone (e.g. `UTC`, `Europe/Berlin`)"))
    }
}

impl fmt::Display for TimeZoneName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

string_value!(TimeZoneName, "an IANA time zone name");

/// A cron expression with seconds (`sec min hour day-of-month month
/// day-of-week [year]`); blank turns the job off.
#[derive(Debug, Clone, PartialEq)]
pub struct CronExpr(pub Option<cron::Schedule>);

impl FromStr for CronExpr {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s.trim().is_empty() {
            return Ok(CronExpr(None));
        }
        cron::Schedule::from_str(s.trim())
            .map(|c| CronExpr(Some(c)))
            .map_err(|e| {
                format!(
                    "`{s}` is not a cron expression of the form `sec min hour day-of-month month day-of-week [year]` ({e})"
                )
            })
    }
}

impl fmt::Display for CronExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(s) => f.write_str(s.source()),
            None => Ok(()),
        }
    }
}

string_value!(CronExpr, "a cron expression");
