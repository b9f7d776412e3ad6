//! The analysis report model: one struct, rendered as Markdown for people and
//! serialised as JSON for machines.

use serde::Serialize;

use super::caps::{FindingCounts, OmittedFindings};
use super::comfy::WorkflowAnalysis;
use super::diff::TreeDiff;
use super::json_config::ConfigFileChange;
use super::local_copy::LocalPatch;
use super::python::{PartialParse, PointFinding, PointSeverity};
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
    /// Vendored layout: how the copy differs from its base, and whether the
    /// update is predicted to carry each change forward.
    pub local_patch: Option<LocalPatch>,
    pub integration: Integration,
    /// ComfyUI node classes and the wrapper's workflows (`None` when
    /// `integration.workflows` is empty).
    pub workflows: Option<WorkflowAnalysis>,
    pub checklist: Vec<ChecklistItem>,
    /// Things the reader should know about how the analysis ran (partial
    /// parses, skipped files, a dirty wrapper, ...).
    pub notes: Vec<String>,
    /// Set when the lists were cut by the caps (`analysis.max_findings_*`,
    /// `analysis.max_report_bytes`): what was left out, and which key
    /// raises it. The counts are always complete.
    pub truncated: Option<String>,
    /// `analysis.max_report_bytes`: the most each written report may hold.
    #[serde(skip)]
    pub report_limit: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Integration {
    /// Wrapper files scanned (relative to the wrapper root).
    pub scanned_files: Vec<String>,
    /// Upstream modules counted as its API.
    pub api_modules: Vec<String>,
    /// The integration points listed, resolved; broken and at-risk ones
    /// first. At most `analysis.max_findings_per_kind` of each severity and
    /// `analysis.max_findings_per_file` of one severity per wrapper file.
    pub findings: Vec<PointFinding>,
    /// Every finding per severity, listed or not.
    pub counts: FindingCounts,
    /// Findings counted but not listed, per wrapper file and severity.
    pub omitted: Vec<OmittedFindings>,
    /// Files only partly analysed because they do not parse.
    pub partial: Vec<PartialFile>,
    /// Reads of a key some config dropped that nothing ties to that config
    /// (counted, not listed).
    pub untied_key_reads: usize,
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
pub enum AnalysisVerdict {
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
    pub severity: Option<PointSeverity>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChecklistCategory {
    IntegrationPoint,
    ProtectedPackage,
    Dependency,
    KeyFile,
    /// A local patch of the vendored copy the update is predicted to
    /// conflict on or lose.
    LocalPatch,
    /// A workflow node input (or node) the update breaks or puts at risk.
    Workflow,
    Validation,
}

impl Analysis {
    pub fn verdict(&self) -> AnalysisVerdict {
        let counts = &self.integration.counts;
        let workflow = |sev| {
            self.workflows
                .iter()
                .flat_map(|w| &w.findings)
                .any(|f| f.severity == sev)
        };
        if counts.breaking > 0 || workflow(PointSeverity::Breaking) {
            return AnalysisVerdict::Breaking;
        }
        let mut v = if counts.at_risk > 0 || workflow(PointSeverity::AtRisk) {
            AnalysisVerdict::AtRisk
        } else {
            AnalysisVerdict::Clear
        };
        if v == AnalysisVerdict::Clear
            && self
                .requirements
                .iter()
                .flat_map(|r| r.added.iter().chain(&r.removed).chain(&r.changed))
                .any(|p| p.protected)
        {
            v = AnalysisVerdict::AtRisk;
        }
        v
    }

    /// Every finding of `severity`, listed or not.
    pub fn count(&self, severity: PointSeverity) -> usize {
        self.integration.counts.get(severity)
    }

    /// `<from7>..<to7>`: the folder name of this analysis.
    pub fn range(&self) -> String {
        format!("{}..{}", self.from.short, self.to.short)
    }
}

impl Analysis {
    /// One analysis of a group's moves, for the fix loop: the first
    /// member's, with every other member's integration findings, workflow
    /// findings, model configs and requirement changes added (each finding
    /// keeps the file and upstream it names). `None` for no analysis.
    pub fn combined(list: &[&Analysis]) -> Option<Analysis> {
        let (first, rest) = list.split_first()?;
        let mut all = (*first).clone();
        for a in rest {
            let i = &a.integration;
            all.integration.findings.extend(i.findings.iter().cloned());
            all.integration.counts.breaking += i.counts.breaking;
            all.integration.counts.at_risk += i.counts.at_risk;
            all.integration.counts.info += i.counts.info;
            all.configs.extend(a.configs.iter().cloned());
            all.requirements.extend(a.requirements.iter().cloned());
            if let Some(w) = &a.workflows {
                let mine = all.workflows.get_or_insert_with(Default::default);
                mine.findings.extend(w.findings.iter().cloned());
                for f in &w.workflows {
                    if !mine.workflows.contains(f) {
                        mine.workflows.push(f.clone());
                    }
                }
            }
        }
        Some(all)
    }
}
