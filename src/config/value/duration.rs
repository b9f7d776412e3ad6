//! Durations in the config (`timeout = "30m"`), in the grammar of
//! [`crate::duration`].

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use super::string_value;

/// Any duration, zero included (`soak = "0"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnyDuration(pub Duration);

/// A duration longer than zero: a timeout, an interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PositiveDuration(pub Duration);

fn parse(s: &str) -> Result<Duration, String> {
    crate::duration::parse(s)
        .map_err(|e| format!("`{s}` is not a duration like `30s`, `20m` or `2d` ({e})"))
}

impl FromStr for AnyDuration {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        parse(s).map(AnyDuration)
    }
}

impl FromStr for PositiveDuration {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match parse(s)? {
            d if d.is_zero() => Err("must be longer than zero".into()),
            d => Ok(PositiveDuration(d)),
        }
    }
}

impl fmt::Display for AnyDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::duration::format(self.0).fmt(f)
    }
}

impl fmt::Display for PositiveDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::duration::format(self.0).fmt(f)
    }
}

string_value!(AnyDuration, "a duration like `30s`, `20m` or `2d`");
string_value!(PositiveDuration, "a duration like `30s`, `20m` or `2d`");
