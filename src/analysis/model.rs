//! The analysis report model: one struct, rendered as Markdown for people and
//! serialised as JSON for machines.

use serde::Serialize;

use super::diff::TreeDiff;
use super::json_config::ConfigFileChange;
use super::python::{Finding, PartialParse, Severity};
use super::requirements::RequirementsDiff;
use crate::upstream::CommitInfo;

#[derive(Debug, Clone, Serialize)]
pub struct Analysis {
    pub upstream: String,
    pub wrapper: String,
    pub generated_at: jiff::Timestamp,
    pub from: CommitInfo,
    pub to: CommitInfo,
    /// Commits in `from..to`, newest first.
    pub commits: Vec<CommitInfo>,
    pub diff: TreeDiff,
    pub requirements: Vec<RequirementsDiff>,
    pub configs: Vec<ConfigFileChange>,
    pub integration: Integration,
    pub checklist: Vec<ChecklistItem>,
    /// Things the reader should know about how the analysis ran (partial
    /// parses, skipped files, a dirty wrapper, ...).
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Integration {
    /// Wrapper files scanned (relative to the wrapper root).
    pub scanned_files: Vec<String>,
    /// Upstream modules counted as its API.
    pub api_modules: Vec<String>,
    /// Every integration point, resolved; broken and at-risk ones first.
    pub findings: Vec<Finding>,
    /// Files only partly analysed because they do not parse.
    pub partial: Vec<PartialFile>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PartialFile {
    /// `wrapper` or `upstream@<short hash>`.
    pub side: String,
    #[serde(flatten)]
    pub parse: PartialParse,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// No integration point is affected.
    Clear,
    /// Findings need review but nothing is known to break.
    AtRisk,
    /// At least one integration point breaks.
    Breaking,
}

#[derive(Debug, Clone, Serialize)]
pub struct ChecklistItem {
    pub category: ChecklistCategory,
    pub text: String,
    /// Where the item points, e.g. `headless_wgp.py:14` or `requirements.txt`.
    pub location: Option<String>,
    pub severity: Option<Severity>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChecklistCategory {
    IntegrationPoint,
    ProtectedPackage,
    Dependency,
    KeyFile,
    Validation,
}

impl Analysis {
    pub fn verdict(&self) -> Verdict {
        let mut v = Verdict::Clear;
        for f in &self.integration.findings {
            match f.severity {
                Severity::Breaking => return Verdict::Breaking,
                Severity::AtRisk => v = Verdict::AtRisk,
                Severity::Info => {}
            }
        }
        if v == Verdict::Clear
            && self
                .requirements
                .iter()
                .flat_map(|r| r.added.iter().chain(&r.removed).chain(&r.changed))
                .any(|p| p.protected)
        {
            v = Verdict::AtRisk;
        }
        v
    }

    pub fn count(&self, severity: Severity) -> usize {
        self.integration
            .findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }

    /// `<from7>..<to7>`: the folder name of this analysis.
    pub fn range(&self) -> String {
        format!("{}..{}", self.from.short, self.to.short)
    }
}
