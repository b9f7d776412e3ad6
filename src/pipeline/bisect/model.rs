//! The bisect's data: its options, each step's record, the journal that
//! makes an interrupted bisect resumable, and the report.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::search::StepVerdict;
use crate::analysis::diff::ChangeStatus;
use crate::upstream::CommitInfo;

/// Which commit a step tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepRole {
    /// The bad end, tested first: its failures are the ones hunted.
    BadEnd,
    /// The good end: it must pass for the search to mean anything.
    GoodEnd,
    /// A candidate between the ends.
    Step,
}

impl StepRole {
    pub fn as_str(self) -> &'static str {
        match self {
            StepRole::BadEnd => "bad-end",
            StepRole::GoodEnd => "good-end",
            StepRole::Step => "step",
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct BisectOptions {
    /// The good end (default: the upstream's last good commit
    /// (`upstream::last_good`), else the current commit).
    pub good: Option<String>,
    /// The bad end (default: the target under the `track` rule).
    pub bad: Option<String>,
    /// The cases run at each step (default: those that fail at the bad end).
    pub cases: Option<Vec<String>>,
    /// Fetch the upstream first.
    pub fetch: bool,
    /// Drop an interrupted bisect's journal and start afresh.
    pub restart: bool,
}

/// One step: a commit and what its baseline said.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    pub at: jiff::Timestamp,
    pub role: StepRole,
    /// Index among the candidates (steps only).
    pub index: Option<usize>,
    pub commit: String,
    pub short: String,
    pub subject: String,
    pub verdict: StepVerdict,
    /// Why, in words (the failure, or what made it a skip).
    pub why: String,
    /// Baseline runs this step took (more than one when a failure was retried).
    pub runs: u32,
    /// Their wall time in seconds (the sum of case durations).
    #[serde(default)]
    pub baseline_s: f64,
    /// Where the step's baseline runs are.
    pub run_dir: PathBuf,
    /// The round of a parallel bisect (`update.bisect_parallel` > 1) the
    /// step was tested in, with the other steps of the round.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub round: Option<u32>,
}

/// What an unfinished bisect has learnt so far.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BisectJournal {
    pub id: String,
    pub upstream: String,
    pub good: String,
    pub bad: String,
    /// First-parent commits after `good` up to `bad`, oldest first.
    pub candidates: Vec<String>,
    pub cases: Vec<String>,
    /// The normalised failure signatures being hunted (from the bad end).
    pub signatures: Vec<String>,
    pub steps: Vec<StepRecord>,
    pub started: jiff::Timestamp,
    pub report_dir: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BisectResult {
    /// The first bad commit, and the last good one just before it.
    FirstBad {
        commit: CommitInfo,
        last_good: CommitInfo,
        /// Files it changed, with why they matter to the wrapper.
        files: Vec<ChangedFile>,
        /// Integration points of the wrapper it breaks or puts at risk.
        findings: Vec<String>,
    },
    /// Skips leave several commits, any of which may be the first bad one.
    Undecidable {
        candidates: Vec<CommitInfo>,
        last_good: CommitInfo,
    },
    /// The good end does not pass: nothing to search.
    GoodEndFails { why: String },
    /// The bad end passes: nothing to search.
    BadEndPasses,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChangedFile {
    pub path: String,
    pub status: ChangeStatus,
    /// Matches the upstream's `key_files`.
    pub key_file: bool,
    /// Defines something the wrapper's integration points use.
    pub integration: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BisectReport {
    pub id: String,
    pub upstream: String,
    pub good: CommitInfo,
    pub bad: CommitInfo,
    /// Commits searched (after the good end, up to the bad end).
    pub candidates: usize,
    pub cases: Vec<String>,
    pub signatures: Vec<String>,
    pub result: BisectResult,
    pub steps: Vec<StepRecord>,
    /// Baseline runs spent, retries included.
    pub baseline_runs: u32,
    /// Their wall time in seconds (the sum of case durations).
    pub baseline_s: f64,
    /// Whether this run resumed an interrupted bisect.
    pub resumed: bool,
    pub report_dir: PathBuf,
}

impl BisectReport {
    /// The commit just before the first bad one, when the search found it.
    pub fn last_good(&self) -> Option<&CommitInfo> {
        match &self.result {
            BisectResult::FirstBad { last_good, .. } => Some(last_good),
            _ => None,
        }
    }

    pub fn first_bad(&self) -> Option<&CommitInfo> {
        match &self.result {
            BisectResult::FirstBad { commit, .. } => Some(commit),
            _ => None,
        }
    }
}
