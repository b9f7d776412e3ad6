//! Patterns: file globs and the vendored record file's regex.

use std::fmt;
use std::str::FromStr;

use super::string_value;

/// One glob, e.g. `defaults/*.json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobPattern(pub globset::Glob);

impl FromStr for GlobPattern {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        globset::Glob::new(s)
            .map(GlobPattern)
            .map_err(|e| format!("bad glob `{s}`: {e}"))
    }
}

impl fmt::Display for GlobPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.glob())
    }
}

string_value!(GlobPattern, "a glob");

/// A regex with a capture group for the commit hash.
#[derive(Debug, Clone)]
pub struct RecordPattern(pub regex::Regex);

impl FromStr for RecordPattern {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match regex::Regex::new(s) {
            Ok(r) if r.captures_len() >= 2 => Ok(RecordPattern(r)),
            Ok(_) => Err("needs one capture group for the commit hash".into()),
            Err(e) => Err(format!("not a valid regex: {e}")),
        }
    }
}

impl fmt::Display for RecordPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str())
    }
}

string_value!(RecordPattern, "a regex");
