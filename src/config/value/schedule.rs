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
                let mut lines = field_problems(s.trim());
                if lines.is_empty() {
                    // the crate's own words, without its caret drawing
                    let text = e.to_string();
                    let last = text.lines().rev().find(|l| !l.trim().is_empty());
                    lines.push(last.unwrap_or("not understood").trim().to_owned());
                }
                format!(
                    "`{s}` is not a cron expression of the form `{FORM}`:\n    {}",
                    lines.join("\n    ")
                )
            })
    }
}

const FORM: &str = "sec min hour day-of-month month day-of-week [year]";

/// Each field's name, range, and the names it also takes.
const FIELDS: [(&str, u32, u32, &[&str]); 7] = [
    ("seconds", 0, 59, &[]),
    ("minutes", 0, 59, &[]),
    ("hours", 0, 23, &[]),
    ("day of month", 1, 31, &[]),
    (
        "month",
        1,
        12,
        &[
            "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
        ],
    ),
    (
        "day of week",
        1,
        7,
        &["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"],
    ),
    ("year", 1970, 2100, &[]),
];

/// One plain line per bad field ("seconds must be 0 to 59, not `99`");
/// empty when each field looks right on its own.
fn field_problems(s: &str) -> Vec<String> {
    let fields: Vec<&str> = s.split_whitespace().collect();
    if !(6..=7).contains(&fields.len()) {
        return vec![format!(
            "it has {} field(s); a cron expression has 6 or 7 (`{FORM}`)",
            fields.len()
        )];
    }
    let mut out = Vec::new();
    for (field, (name, lo, hi, names)) in fields.iter().zip(FIELDS) {
        if let Some(bad) = bad_token(field, lo, hi, names) {
            let also = if names.is_empty() {
                String::new()
            } else {
                format!(" or {} to {}", names[0], names[names.len() - 1])
            };
            out.push(format!("{name} must be {lo} to {hi}{also}, not `{bad}`"));
        }
    }
    out
}

/// The first part of one field that is out of range or not understood.
fn bad_token<'a>(field: &'a str, lo: u32, hi: u32, names: &[&str]) -> Option<&'a str> {
    for item in field.split(',') {
        let (base, step) = match item.split_once('/') {
            Some((b, st)) => (b, Some(st)),
            None => (item, None),
        };
        if let Some(st) = step
            && !st.parse::<u32>().is_ok_and(|n| n > 0)
        {
            return Some(st);
        }
        if base == "*" || base == "?" {
            continue;
        }
        let ends: Vec<&str> = base.splitn(2, '-').collect();
        for end in ends {
            let ok = match end.parse::<u32>() {
                Ok(n) => (lo..=hi).contains(&n),
                Err(_) => {
                    names.iter().any(|n| n.eq_ignore_ascii_case(end))
                        || names
                            .iter()
                            .any(|n| end.len() > 3 && end.to_ascii_uppercase().starts_with(n))
                }
            };
            if !ok {
                return Some(end);
            }
        }
    }
    None
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_cron_field_is_one_plain_line_each() {
        let e = CronExpr::from_str("99 * * * * *").unwrap_err();
        assert!(
            e.ends_with(":\n    seconds must be 0 to 59, not `99`"),
            "{e}"
        );
        assert!(!e.contains('^'), "{e}");
        let e = CronExpr::from_str("0 0 99 * * 9").unwrap_err();
        let lines: Vec<&str> = e.lines().skip(1).map(str::trim).collect();
        assert_eq!(
            lines,
            [
                "hours must be 0 to 23, not `99`",
                "day of week must be 1 to 7 or SUN to SAT, not `9`"
            ]
        );
        let e = CronExpr::from_str("* * *").unwrap_err();
        assert!(e.contains("it has 3 field(s)"), "{e}");
        for good in [
            "0 */15 * * * *",
            "0 0 5 * * Sun",
            "0 0 0 1 JAN-MAR MON-FRI 2030",
        ] {
            CronExpr::from_str(good).unwrap();
        }
    }
}
