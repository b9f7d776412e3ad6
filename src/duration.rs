//! Human-readable durations: the grammar tether reads in its config and flags
//! (`90s`, `10m`, `1h 30m`, `2days`, `1.5h`, `0`) and the form it writes in
//! messages and reports (`1day 2h 30m`). Owns only the text form; what a
//! duration means is decided where it is used, always as a
//! [`std::time::Duration`].
//!
//! The grammar and the output are those of `humantime` 2.4, which tether used
//! before jiff became its one time crate; they are kept byte for byte so that
//! every config that loaded before still loads and every report reads the
//! same. (jiff's own "friendly" format accepts more, e.g. ISO 8601 and signs,
//! and rejects some of these, e.g. `12M` for months.)
//!
//! A duration is one or more `<number><unit>` items, optionally separated by
//! whitespace (also between a number and its unit). Numbers are decimal
//! digits, optionally with a fraction (`1.5h`; not on `ns`). Units:
//!
//! | unit | spellings |
//! |---|---|
//! | nanosecond | `nanos`, `nsec`, `ns` |
//! | microsecond | `usec`, `us`, `µs` |
//! | millisecond | `millis`, `msec`, `ms` |
//! | second | `seconds`, `second`, `secs`, `sec`, `s` |
//! | minute | `minutes`, `minute`, `min`, `mins`, `m` |
//! | hour | `hours`, `hour`, `hr`, `hrs`, `h` |
//! | day | `days`, `day`, `d` |
//! | week | `weeks`, `week`, `wk`, `wks`, `w` |
//! | month (30.44 days) | `months`, `month`, `M` |
//! | year (365.25 days) | `years`, `year`, `yr`, `yrs`, `y` |
//!
//! The bare string `0` is zero; any other number needs a unit.

use std::fmt;
use std::time::Duration;

const MONTH_SECS: u64 = 2_630_016; // 30.44 days
const YEAR_SECS: u64 = 31_557_600; // 365.25 days

/// Why a string is not a duration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("invalid character at {0}")]
    InvalidCharacter(usize),
    #[error("expected number at {0}")]
    NumberExpected(usize),
    #[error("time unit needed, for example {0}sec or {0}ms")]
    UnitNeeded(u64),
    #[error(
        "unknown time unit {0:?}, supported units: ns, us/µs, ms, sec, min, hours, days, weeks, months, years (and few variations)"
    )]
    UnknownUnit(String),
    #[error(
        "number is too large or cannot be represented without a lack of precision (values below 1ns are not supported)"
    )]
    NumberOverflow,
    #[error("value was empty")]
    Empty,
}

/// Parses a duration (see the module docs for the grammar).
pub fn parse(s: &str) -> Result<Duration, DurationError> {
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    Parser {
        iter: s.chars(),
        src: s,
    }
    .parse()
}

/// Writes a duration as `1year 2months 3days 4h 5m 6s 7ms 8us 9ns`, leaving
/// out zero parts; zero is `0s`. [`parse`] reads it back.
pub fn format(d: Duration) -> Formatted {
    Formatted(d)
}

/// A duration that displays in the form [`format`] describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Formatted(Duration);

impl fmt::Display for Formatted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0.as_secs();
        let nanos = self.0.subsec_nanos();
        if secs == 0 && nanos == 0 {
            return f.write_str("0s");
        }
        let years = secs / YEAR_SECS;
        let ydays = secs % YEAR_SECS;
        let months = ydays / MONTH_SECS;
        let mdays = ydays % MONTH_SECS;
        let parts: [(u64, &str, bool); 9] = [
            (years, "year", true),
            (months, "month", true),
            (mdays / 86400, "day", true),
            (mdays % 86400 / 3600, "h", false),
            (mdays % 3600 / 60, "m", false),
            (mdays % 60, "s", false),
            (u64::from(nanos / 1_000_000), "ms", false),
            (u64::from(nanos / 1000 % 1000), "us", false),
            (u64::from(nanos % 1000), "ns", false),
        ];
        let mut started = false;
        for (value, name, plural) in parts {
            if value == 0 {
                continue;
            }
            if started {
                f.write_str(" ")?;
            }
            write!(f, "{value}{name}")?;
            if plural && value > 1 {
                f.write_str("s")?;
            }
            started = true;
        }
        Ok(())
    }
}

#[derive(Clone, Copy)]
enum Unit {
    Nanosecond,
    Microsecond,
    Millisecond,
    Second,
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Year,
}

impl Unit {
    fn from_name(s: &str) -> Option<Unit> {
        Some(match s {
            "nanos" | "nsec" | "ns" => Unit::Nanosecond,
            "usec" | "us" | "µs" => Unit::Microsecond,
            "millis" | "msec" | "ms" => Unit::Millisecond,
            "seconds" | "second" | "secs" | "sec" | "s" => Unit::Second,
            "minutes" | "minute" | "min" | "mins" | "m" => Unit::Minute,
            "hours" | "hour" | "hr" | "hrs" | "h" => Unit::Hour,
            "days" | "day" | "d" => Unit::Day,
            "weeks" | "week" | "wk" | "wks" | "w" => Unit::Week,
            "months" | "month" | "M" => Unit::Month,
            "years" | "year" | "yr" | "yrs" | "y" => Unit::Year,
            _ => return None,
        })
    }

    /// Whole seconds, or nanoseconds below a second, per unit.
    fn secs(self) -> Option<u64> {
        Some(match self {
            Unit::Second => 1,
            Unit::Minute => 60,
            Unit::Hour => 3600,
            Unit::Day => 86400,
            Unit::Week => 86400 * 7,
            Unit::Month => MONTH_SECS,
            Unit::Year => YEAR_SECS,
            Unit::Nanosecond | Unit::Microsecond | Unit::Millisecond => return None,
        })
    }
}

#[derive(Clone, Copy)]
struct Fraction {
    numerator: u64,
    denominator: u64,
}

fn mul(a: u64, b: u64) -> Result<u64, DurationError> {
    a.checked_mul(b).ok_or(DurationError::NumberOverflow)
}

fn div_exact(a: u64, b: u64) -> Result<u64, DurationError> {
    if a % b == 0 {
        Ok(a / b)
    } else {
        Err(DurationError::NumberOverflow)
    }
}

fn is_unit_char(c: char) -> bool {
    c.is_ascii_alphabetic() || c == 'µ'
}

struct Parser<'a> {
    iter: std::str::Chars<'a>,
    src: &'a str,
}

impl Parser<'_> {
    fn off(&self) -> usize {
        self.src.len() - self.iter.as_str().len()
    }

    fn parse(mut self) -> Result<Duration, DurationError> {
        let mut n = self.first_digit()?.ok_or(DurationError::Empty)?;
        let mut out = Duration::ZERO;
        'items: loop {
            // the number (its first digit is already in `n`)
            let mut frac = None;
            let mut off = self.off();
            while let Some(c) = self.iter.next() {
                match c {
                    '0'..='9' => {
                        n = n
                            .checked_mul(10)
                            .and_then(|x| x.checked_add(u64::from(c as u8 - b'0')))
                            .ok_or(DurationError::NumberOverflow)?;
                    }
                    c if c.is_whitespace() => {}
                    c if is_unit_char(c) => break,
                    '.' => {
                        frac = Some(self.fraction(&mut off)?);
                        break;
                    }
                    _ => return Err(DurationError::InvalidCharacter(off)),
                }
                off = self.off();
            }
            // the unit, up to whitespace or the next item's first digit
            let start = off;
            let mut end = self.off();
            while let Some(c) = self.iter.next() {
                match c {
                    '0'..='9' => {
                        self.add(n, frac, start, end, &mut out)?;
                        n = u64::from(c as u8 - b'0');
                        continue 'items;
                    }
                    c if c.is_whitespace() => break,
                    c if is_unit_char(c) => {}
                    _ => return Err(DurationError::InvalidCharacter(end)),
                }
                end = self.off();
            }
            self.add(n, frac, start, end, &mut out)?;
            n = match self.first_digit()? {
                Some(n) => n,
                None => return Ok(out),
            };
        }
    }

    fn first_digit(&mut self) -> Result<Option<u64>, DurationError> {
        let off = self.off();
        for c in self.iter.by_ref() {
            match c {
                '0'..='9' => return Ok(Some(u64::from(c as u8 - b'0'))),
                c if c.is_whitespace() => continue,
                _ => return Err(DurationError::NumberExpected(off)),
            }
        }
        Ok(None)
    }

    fn fraction(&mut self, off: &mut usize) -> Result<Fraction, DurationError> {
        let mut numerator = 0u64;
        let mut denominator = 1u64;
        let mut zeros = true;
        while let Some(c) = self.iter.next() {
            match c {
                '0' => {
                    denominator = mul(denominator, 10)?;
                    if !zeros {
                        numerator = mul(numerator, 10)?;
                    }
                }
                '1'..='9' => {
                    zeros = false;
                    denominator = mul(denominator, 10)?;
                    numerator = mul(numerator, 10)?
                        .checked_add(u64::from(c as u8 - b'0'))
                        .ok_or(DurationError::NumberOverflow)?;
                }
                c if c.is_whitespace() => {}
                c if is_unit_char(c) => break,
                _ => return Err(DurationError::InvalidCharacter(*off)),
            }
            *off = self.off();
        }
        if denominator == 1 {
            // no digit after the separator, e.g. "1."
            return Err(DurationError::InvalidCharacter(*off));
        }
        Ok(Fraction {
            numerator,
            denominator,
        })
    }

    fn add(
        &self,
        n: u64,
        frac: Option<Fraction>,
        start: usize,
        end: usize,
        out: &mut Duration,
    ) -> Result<(), DurationError> {
        let name = &self.src[start..end];
        let unit = match Unit::from_name(name) {
            Some(u) => u,
            None if name.is_empty() => return Err(DurationError::UnitNeeded(n)),
            None => return Err(DurationError::UnknownUnit(name.to_owned())),
        };
        let (sec, nsec) = match unit.secs() {
            Some(s) => (mul(n, s)?, 0),
            None => (0, mul(n, sub_second_nanos(unit))?),
        };
        add_to(sec, nsec, out)?;
        if let Some(Fraction {
            numerator: f,
            denominator: d,
        }) = frac
        {
            let (sec, nsec) = match unit {
                Unit::Nanosecond => return Err(DurationError::NumberOverflow),
                Unit::Microsecond => (0, div_exact(mul(f, 1000)?, d)?),
                Unit::Millisecond => (0, div_exact(mul(f, 1_000_000)?, d)?),
                Unit::Second => (0, div_exact(mul(f, 1_000_000_000)?, d)?),
                Unit::Minute => (0, div_exact(mul(f, 60_000_000_000)?, d)?),
                other => (div_exact(mul(f, other.secs().unwrap_or(1))?, d)?, 0),
            };
            add_to(sec, nsec, out)?;
        }
        Ok(())
    }
}

fn sub_second_nanos(unit: Unit) -> u64 {
    match unit {
        Unit::Nanosecond => 1,
        Unit::Microsecond => 1000,
        _ => 1_000_000,
    }
}

fn add_to(mut sec: u64, nsec: u64, out: &mut Duration) -> Result<(), DurationError> {
    let mut nsec = u64::from(out.subsec_nanos())
        .checked_add(nsec)
        .ok_or(DurationError::NumberOverflow)?;
    if nsec > 1_000_000_000 {
        sec = sec
            .checked_add(nsec / 1_000_000_000)
            .ok_or(DurationError::NumberOverflow)?;
        nsec %= 1_000_000_000;
    }
    sec = out
        .as_secs()
        .checked_add(sec)
        .ok_or(DurationError::NumberOverflow)?;
    *out = Duration::new(sec, nsec as u32);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    /// Every spelling the config accepted before (humantime 2.4's grammar),
    /// with its value.
    #[test]
    fn accepted_spellings() {
        for (text, want) in [
            ("0", Duration::ZERO),
            ("0s", Duration::ZERO),
            ("90s", secs(90)),
            ("10m", secs(600)),
            ("1h 30m", secs(5400)),
            ("1h30m", secs(5400)),
            ("2 hours 1 min", secs(7260)),
            ("  5 s  ", secs(5)),
            ("2days", secs(172_800)),
            ("2d", secs(172_800)),
            ("1day", secs(86_400)),
            ("12h", secs(43_200)),
            ("30m", secs(1800)),
            ("20m", secs(1200)),
            ("10s", secs(10)),
            ("60s", secs(60)),
            ("120s", secs(120)),
            ("1s", secs(1)),
            ("500ms", Duration::from_millis(500)),
            ("1.5h", secs(5400)),
            ("4.2s", Duration::from_millis(4200)),
            ("17nsec", Duration::from_nanos(17)),
            ("17nanos", Duration::from_nanos(17)),
            ("33ns", Duration::from_nanos(33)),
            ("3usec", Duration::from_micros(3)),
            ("78us", Duration::from_micros(78)),
            ("163µs", Duration::from_micros(163)),
            ("31msec", Duration::from_millis(31)),
            ("31millis", Duration::from_millis(31)),
            ("300sec", secs(300)),
            ("300secs", secs(300)),
            ("50seconds", secs(50)),
            ("1second", secs(1)),
            ("12min", secs(720)),
            ("12mins", secs(720)),
            ("1minute", secs(60)),
            ("7minutes", secs(420)),
            ("7hr", secs(25_200)),
            ("7hrs", secs(25_200)),
            ("1hour", secs(3600)),
            ("24hours", secs(86_400)),
            ("1week", secs(604_800)),
            ("7weeks", secs(4_233_600)),
            ("104wks", secs(2 * 31_449_600)),
            ("100wk", secs(60_480_000)),
            ("52w", secs(31_449_600)),
            ("1month", secs(2_630_016)),
            ("3months", secs(3 * 2_630_016)),
            ("12M", secs(31_560_192)),
            ("1year", secs(31_557_600)),
            ("7years", secs(7 * 31_557_600)),
            ("15yrs", secs(15 * 31_557_600)),
            ("10yr", secs(10 * 31_557_600)),
            ("17y", secs(17 * 31_557_600)),
            (
                "1year 2months 3days 4h 5m 6s",
                secs(31_557_600 + 2 * 2_630_016 + 3 * 86_400 + 4 * 3600 + 5 * 60 + 6),
            ),
        ] {
            assert_eq!(parse(text), Ok(want), "{text:?}");
        }
    }

    /// Spellings that were rejected before and still are, with the reason.
    #[test]
    fn rejected_spellings() {
        for (text, want) in [
            ("", DurationError::Empty),
            ("   ", DurationError::Empty),
            ("5", DurationError::UnitNeeded(5)),
            ("00", DurationError::UnitNeeded(0)),
            ("soon", DurationError::NumberExpected(0)),
            ("h", DurationError::NumberExpected(0)),
            ("-5s", DurationError::NumberExpected(0)),
            ("PT1H", DurationError::NumberExpected(0)),
            ("1h ago", DurationError::NumberExpected(3)),
            ("1x", DurationError::UnknownUnit("x".into())),
            (
                "2 fortnights",
                DurationError::UnknownUnit("fortnights".into()),
            ),
            ("1mo", DurationError::UnknownUnit("mo".into())),
            ("1H", DurationError::UnknownUnit("H".into())),
            ("1,5h", DurationError::InvalidCharacter(1)),
            ("1h, 2m", DurationError::InvalidCharacter(2)),
            ("1.h", DurationError::InvalidCharacter(1)),
            ("1.5ns", DurationError::NumberOverflow),
            ("99999999999999999999s", DurationError::NumberOverflow),
        ] {
            assert_eq!(parse(text), Err(want), "{text:?}");
        }
    }

    #[test]
    fn formats_like_before_and_reads_back() {
        for (d, want) in [
            (Duration::ZERO, "0s"),
            (secs(9420), "2h 37m"),
            (Duration::from_millis(32), "32ms"),
            (secs(86_400), "1day"),
            (secs(172_800), "2days"),
            (secs(1800), "30m"),
            (secs(90), "1m 30s"),
            (
                Duration::new(31_557_600 + 2_630_016 + 1, 1_001_001),
                "1year 1month 1s 1ms 1us 1ns",
            ),
        ] {
            assert_eq!(format(d).to_string(), want);
            assert_eq!(parse(want), Ok(d), "{want}");
        }
    }
}
