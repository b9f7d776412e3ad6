//! Owns the caps on what an analysis lists and writes: findings are counted
//! in full but listed at most `analysis.max_findings_per_kind` of each
//! severity and `analysis.max_findings_per_file` of one severity in one
//! wrapper file, decided as they are collected (a generated file with 500,000
//! broken calls never becomes 500,000 findings in memory); and a report file
//! over `analysis.max_report_bytes` is cut with a note.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::python::{PointFinding, PointSeverity};
use crate::config::AnalysisConfig;
use crate::text::thousands;

/// How many findings are listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FindingCaps {
    /// Of one severity, in all.
    pub per_kind: usize,
    /// Of one severity, in one wrapper file.
    pub per_file: usize,
}

impl FindingCaps {
    pub fn from_config(a: &AnalysisConfig) -> Self {
        Self {
            per_kind: a.max_findings_per_kind as usize,
            per_file: a.max_findings_per_file as usize,
        }
    }

    /// No cap (for tests and callers that want every finding).
    pub fn none() -> Self {
        Self {
            per_kind: usize::MAX,
            per_file: usize::MAX,
        }
    }
}

/// Findings per severity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct FindingCounts {
    pub breaking: usize,
    pub at_risk: usize,
    pub info: usize,
}

impl FindingCounts {
    pub fn get(&self, s: PointSeverity) -> usize {
        match s {
            PointSeverity::Breaking => self.breaking,
            PointSeverity::AtRisk => self.at_risk,
            PointSeverity::Info => self.info,
        }
    }

    fn slot(&mut self, s: PointSeverity) -> &mut usize {
        match s {
            PointSeverity::Breaking => &mut self.breaking,
            PointSeverity::AtRisk => &mut self.at_risk,
            PointSeverity::Info => &mut self.info,
        }
    }

    pub fn total(&self) -> usize {
        self.breaking + self.at_risk + self.info
    }
}

/// Findings of one severity in one wrapper file that were counted but not
/// listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OmittedFindings {
    pub file: String,
    pub severity: PointSeverity,
    pub count: usize,
}

impl OmittedFindings {
    /// "and 12,345 more breaking findings in wgp_big.py".
    pub fn sentence(&self) -> String {
        format!(
            "and {} more {} finding(s) in {}",
            thousands(self.count),
            severity_word(self.severity),
            self.file
        )
    }
}

pub fn severity_word(s: PointSeverity) -> &'static str {
    match s {
        PointSeverity::Breaking => "breaking",
        PointSeverity::AtRisk => "at-risk",
        PointSeverity::Info => "informational",
    }
}

/// Collects findings one at a time under [`FindingCaps`].
#[derive(Debug)]
pub struct Collector {
    caps: FindingCaps,
    listed: Vec<PointFinding>,
    counts: FindingCounts,
    listed_counts: FindingCounts,
    /// Listed per wrapper file and severity.
    per_file: HashMap<String, FindingCounts>,
    /// Not listed, per wrapper file and severity.
    omitted: BTreeMap<String, FindingCounts>,
}

/// What a [`Collector`] kept.
#[derive(Debug, Clone, PartialEq)]
pub struct Collected {
    /// In the order they came.
    pub listed: Vec<PointFinding>,
    /// Every finding, listed or not.
    pub counts: FindingCounts,
    /// Broken and at-risk first, then by file.
    pub omitted: Vec<OmittedFindings>,
}

impl Collector {
    pub fn new(caps: FindingCaps) -> Self {
        Self {
            caps,
            listed: Vec::new(),
            counts: FindingCounts::default(),
            listed_counts: FindingCounts::default(),
            per_file: HashMap::new(),
            omitted: BTreeMap::new(),
        }
    }

    /// Counts `f`, and keeps it when its severity and its file are under
    /// their caps.
    pub fn push(&mut self, f: PointFinding) {
        let s = f.severity;
        *self.counts.slot(s) += 1;
        let in_file = self.per_file.get(&f.point.file).map_or(0, |c| c.get(s));
        if self.listed_counts.get(s) < self.caps.per_kind && in_file < self.caps.per_file {
            *self.listed_counts.slot(s) += 1;
            match self.per_file.get_mut(&f.point.file) {
                Some(c) => *c.slot(s) += 1,
                None => {
                    let mut c = FindingCounts::default();
                    *c.slot(s) += 1;
                    self.per_file.insert(f.point.file.clone(), c);
                }
            }
            self.listed.push(f);
        } else {
            match self.omitted.get_mut(&f.point.file) {
                Some(c) => *c.slot(s) += 1,
                None => {
                    let mut c = FindingCounts::default();
                    *c.slot(s) += 1;
                    self.omitted.insert(f.point.file, c);
                }
            }
        }
    }

    pub fn finish(self) -> Collected {
        let mut omitted = Vec::new();
        for s in [
            PointSeverity::Breaking,
            PointSeverity::AtRisk,
            PointSeverity::Info,
        ] {
            for (file, c) in &self.omitted {
                if c.get(s) > 0 {
                    omitted.push(OmittedFindings {
                        file: file.clone(),
                        severity: s,
                        count: c.get(s),
                    });
                }
            }
        }
        Collected {
            listed: self.listed,
            counts: self.counts,
            omitted,
        }
    }
}

/// The note an analysis carries when findings were left out of its lists.
pub fn truncation_note(c: &Collected, caps: FindingCaps) -> Option<String> {
    let left_out: usize = c.omitted.iter().map(|o| o.count).sum();
    (left_out > 0).then(|| {
        format!(
            "{} of {} findings are counted but not listed: at most {} of each kind and {} of one kind per wrapper file are listed (analysis.max_findings_per_kind, analysis.max_findings_per_file)",
            thousands(left_out),
            thousands(c.counts.total()),
            thousands(caps.per_kind),
            thousands(caps.per_file)
        )
    })
}

/// `text` cut to at most `max` bytes at a line break, with a note saying
/// so (an open code fence is closed first); unchanged when it fits.
pub fn cut_markdown(text: String, max: u64) -> String {
    let max = usize::try_from(max).unwrap_or(usize::MAX);
    if text.len() <= max {
        return text;
    }
    let note = format!(
        "\n> **This report was cut** at {} of its {} bytes (analysis.max_report_bytes). The counts above are complete; raise the cap to see the rest.\n",
        thousands(max),
        thousands(text.len())
    );
    // room for the note and a closing fence
    let room = max.saturating_sub(note.len() + 8);
    let mut end = room.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let end = text[..end].rfind('\n').map_or(end, |i| i + 1);
    let mut out = text;
    out.truncate(end);
    let fences = out
        .lines()
        .filter(|l| l.starts_with("```") || l.starts_with("~~~~"))
        .count();
    if fences % 2 == 1 {
        let open = out
            .lines()
            .rev()
            .find(|l| l.starts_with("```") || l.starts_with("~~~~"))
            .map_or("```", |l| if l.starts_with('~') { "~~~~" } else { "```" });
        out.push_str(open);
        out.push('\n');
    }
    out.push_str(&note);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::python::{IntegrationPoint, PointKind, Status};

    fn finding(file: &str, line: usize, severity: PointSeverity) -> PointFinding {
        PointFinding {
            point: IntegrationPoint {
                file: file.into(),
                line,
                kind: PointKind::Call,
                target: "wgp.f".into(),
                keywords: Vec::new(),
                positional_args: 0,
                star_args: false,
                star_kwargs: false,
                snippet: "wgp.f()".into(),
            },
            status: Status::Removed,
            severity,
            message: "gone".into(),
            old: None,
            new: None,
        }
    }

    #[test]
    fn counts_everything_and_lists_under_both_caps() {
        let mut c = Collector::new(FindingCaps {
            per_kind: 5,
            per_file: 3,
        });
        for i in 0..1000 {
            c.push(finding("big.py", i, PointSeverity::Breaking));
        }
        for i in 0..4 {
            c.push(finding("small.py", i, PointSeverity::Breaking));
            c.push(finding("small.py", i, PointSeverity::Info));
        }
        let got = c.finish();
        assert_eq!(got.counts.breaking, 1004);
        assert_eq!(got.counts.info, 4);
        let listed: Vec<(&str, usize)> = got
            .listed
            .iter()
            .filter(|f| f.severity == PointSeverity::Breaking)
            .map(|f| (f.point.file.as_str(), f.point.line))
            .collect();
        // three of big.py (its file cap), then two of small.py (the kind cap)
        assert_eq!(
            listed,
            [
                ("big.py", 0),
                ("big.py", 1),
                ("big.py", 2),
                ("small.py", 0),
                ("small.py", 1)
            ]
        );
        // another severity has caps of its own
        assert_eq!(
            got.listed
                .iter()
                .filter(|f| f.severity == PointSeverity::Info)
                .count(),
            3
        );
        let omitted: Vec<String> = got.omitted.iter().map(OmittedFindings::sentence).collect();
        assert_eq!(
            omitted,
            [
                "and 997 more breaking finding(s) in big.py",
                "and 2 more breaking finding(s) in small.py",
                "and 1 more informational finding(s) in small.py",
            ]
        );
        let note = truncation_note(
            &got,
            FindingCaps {
                per_kind: 5,
                per_file: 3,
            },
        )
        .unwrap();
        assert!(note.starts_with("1,000 of 1,008 findings"), "{note}");
    }

    #[test]
    fn nothing_is_left_out_under_the_caps() {
        let mut c = Collector::new(FindingCaps::none());
        c.push(finding("a.py", 1, PointSeverity::AtRisk));
        let got = c.finish();
        assert_eq!(got.listed.len(), 1);
        assert!(got.omitted.is_empty());
        assert_eq!(truncation_note(&got, FindingCaps::none()), None);
    }

    #[test]
    fn long_reports_are_cut_at_a_line_with_a_note_and_closed_fences() {
        let text = "# t\n\n```diff\n".to_owned() + &"+ line ü\n".repeat(10_000) + "```\n";
        let cut = cut_markdown(text.clone(), 4096);
        assert!(cut.len() <= 4096, "{}", cut.len());
        assert!(
            cut.contains("**This report was cut** at 4,096 of its"),
            "{cut}"
        );
        let before_note = cut.split("\n> **This report").next().unwrap();
        assert!(before_note.ends_with("```\n"), "the fence is closed");
        assert_eq!(cut_markdown("short\n".into(), 4096), "short\n");
    }
}
