//! `tether update`'s options and its report model: what the update did,
//! written as `update.json` and `update_report.md` (rendered in
//! `report::update`) in its report folder.

use std::path::PathBuf;

use serde::Serialize;

use crate::analysis::AnalysisVerdict;
use crate::baseline::{self, BaselineRun};
use crate::fix::{AppliedFix, AttemptRecord};
use crate::update::{CheckoutMove, PromotionPlan, RollbackReport};
use crate::upstream::CommitInfo;

#[derive(Debug, Clone, Default)]
pub struct UpdateOptions {
    /// Target revision instead of the newest soaked commit under the track rule.
    pub to: Option<String>,
    /// Stop before promotion and say what would be promoted.
    pub dry_run: bool,
    /// Do not run the fix loop.
    pub no_fix: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum UpdateOutcome {
    /// Nothing to adopt.
    UpToDate { reason: String },
    /// The baseline passed on the staged tree and the live wrapper got it.
    Promoted,
    /// The baseline passed; `--dry-run` stopped before promotion.
    DryRun,
    /// The update could not be made to pass; everything was restored.
    RolledBack { reason: String },
    /// The upstream is held back and the new target, tested once on the
    /// hunted cases, fails the same way as the culprit: the hold stays, no
    /// bisect or fix loop ran (`update.remember_held`).
    StillHeld {
        reason: String,
        /// The new target's failures (equal to the remembered ones).
        failures: Vec<crate::upstream::FailureSignature>,
    },
    /// Staging left conflicts that neither the fix loop nor anybody
    /// resolved: the update waits in the staged tree (markers in it) for
    /// `tether update --continue` or `--abort`; the live wrapper is as it
    /// was.
    Paused {
        reason: String,
        staged_dir: PathBuf,
        files: Vec<PausedFile>,
    },
    /// The baseline passed, but the approval gate (`update.promote`) holds
    /// the update: staged and tested, it waits for `tether approve <id>`
    /// (which promotes exactly what was tested) or `tether reject <id>`;
    /// the live wrapper is as it was.
    Parked {
        /// Why the policy held it.
        reasons: Vec<String>,
        expires: jiff::Timestamp,
    },
}

/// Who approved a parked update, and when.
#[derive(Debug, Clone, Serialize)]
pub struct Approval {
    pub user: String,
    pub host: String,
    pub at: jiff::Timestamp,
    /// When the update was parked (tested).
    pub parked_at: jiff::Timestamp,
}

/// A file a paused update waits on.
#[derive(Debug, Clone, Serialize)]
pub struct PausedFile {
    /// Relative to the wrapper root (and the staged tree).
    pub path: String,
    /// Why it conflicts.
    pub reason: String,
    /// Lines (1-based) of the conflict markers left in it.
    pub lines: Vec<usize>,
}

/// Everything `tether update` did, rendered as `update_report.md` and
/// `update.json` in the report folder.
#[derive(Debug, Clone, Serialize)]
pub struct UpdateReport {
    pub id: Option<String>,
    /// The upstream, or for a group update the group's name.
    pub upstream: String,
    /// A group update: the group's name (`upstream` holds it too).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// A group update: one entry per member, in the group's order; the
    /// baseline, fix and promotion parts of the report are the group's.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<MemberReport>,
    /// A group update: the members' requirements at their targets read
    /// together (pins that cannot all hold, torch moves).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dependencies: Option<crate::analysis::stack_deps::StackDependencies>,
    /// A group's `adopt-last-good`: which member broke it, how that was
    /// found, and what was adopted (the inner bisect is `bisect`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_bisect: Option<GroupBisect>,
    pub outcome: UpdateOutcome,
    pub from: Option<CommitInfo>,
    pub to: Option<CommitInfo>,
    pub commits: usize,
    /// What crash recovery did before this update, if anything.
    pub recovery: Option<String>,
    pub analysis_dir: Option<PathBuf>,
    pub analysis_verdict: Option<AnalysisVerdict>,
    pub breaking_points: usize,
    /// `name: old -> new` of each protected package the update changes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub protected_changes: Vec<String>,
    /// A parked update promoted by `tether approve`: who approved it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<Approval>,
    pub staged_commit: Option<String>,
    pub conflicts: Vec<String>,
    /// How the vendored copy's 3-way merge went: files merged cleanly by
    /// each method, conflicts, and the notes of the files (vendored only).
    pub merge: Option<crate::merge::MergeSummary>,
    /// The first baseline run on the staged tree.
    pub initial_run: Option<BaselineRun>,
    /// The last baseline run (after fixes).
    pub final_run: Option<BaselineRun>,
    /// The last run's cases against the references for this hardware.
    #[serde(default)]
    pub comparisons: Vec<baseline::CaseComparison>,
    /// The bisect that followed an unfixable update (`adopt-last-good`).
    pub bisect: Option<super::bisect::BisectReport>,
    /// The upstream is held back at its newest good commit.
    pub held_back: Option<crate::upstream::HeldBack>,
    /// The failed update of the newer target, when this one adopted the
    /// last good commit instead.
    pub failed_target: Option<Box<UpdateReport>>,
    pub attempts: Vec<AttemptRecord>,
    pub fixes: Vec<AppliedFix>,
    pub stop_reason: Option<crate::fix::StopReason>,
    /// Baseline cases that now run reduced (e.g. fewer frames after an OOM).
    pub reduced: Vec<String>,
    pub gpu_minutes: f64,
    /// Baseline runs this update spent, and their wall time (the sum of
    /// case durations): staged runs, fix attempts, bisect steps, re-tests.
    pub spent: BaselineSpent,
    pub promotion: Option<PromotionPlan>,
    pub rollback: Option<RollbackReport>,
    pub notes: Vec<String>,
    pub report_dir: Option<PathBuf>,
    pub started: jiff::Timestamp,
    pub finished: jiff::Timestamp,
}

impl UpdateReport {
    pub(crate) fn new(upstream: &str) -> Self {
        let now = crate::env::now();
        Self {
            id: None,
            upstream: upstream.to_owned(),
            group: None,
            members: Vec::new(),
            dependencies: None,
            group_bisect: None,
            outcome: UpdateOutcome::UpToDate {
                reason: String::new(),
            },
            from: None,
            to: None,
            commits: 0,
            recovery: None,
            analysis_dir: None,
            analysis_verdict: None,
            breaking_points: 0,
            protected_changes: Vec::new(),
            approval: None,
            staged_commit: None,
            conflicts: Vec::new(),
            merge: None,
            initial_run: None,
            comparisons: Vec::new(),
            bisect: None,
            held_back: None,
            failed_target: None,
            final_run: None,
            attempts: Vec::new(),
            fixes: Vec::new(),
            stop_reason: None,
            reduced: Vec::new(),
            gpu_minutes: 0.0,
            spent: BaselineSpent::default(),
            promotion: None,
            rollback: None,
            notes: Vec::new(),
            report_dir: None,
            started: now,
            finished: now,
        }
    }
}

/// One member of a group update.
#[derive(Debug, Clone, Serialize)]
pub struct MemberReport {
    pub upstream: String,
    /// `submodule`, `clone` or `vendored`.
    pub layout: String,
    /// Its commit in the wrapper before the update.
    pub from: Option<CommitInfo>,
    /// The commit it is staged at (equal to `from` when it stays).
    pub to: Option<CommitInfo>,
    /// Whether the update moves it; `false`: at its target already (or
    /// nothing soaked), staged at its current commit for the baseline.
    pub moves: bool,
    /// Why it stays, when it does.
    pub stays_because: Option<String>,
    pub commits: usize,
    pub analysis_dir: Option<PathBuf>,
    pub analysis_verdict: Option<AnalysisVerdict>,
    pub breaking_points: usize,
    /// Breaking findings on the wrapper's workflow files (node classes,
    /// inputs and outputs the member changed).
    #[serde(default)]
    pub breaking_workflow_inputs: usize,
    /// Its staging commit (`chore(upstream): bump <name> to <short>`).
    pub staged_commit: Option<String>,
    /// Its live checkout's move at promotion (submodule and clone layouts).
    pub checkout: Option<CheckoutMove>,
}

/// How a group's `adopt-last-good` found the culprit members and commits.
#[derive(Debug, Clone, Serialize)]
pub struct GroupBisect {
    /// Every member whose move fails on its own (or the pair that fails
    /// together when none does alone), with its first bad commit; empty
    /// when none was found.
    pub culprits: Vec<GroupCulprit>,
    /// Each probe, in order: which members moved, and whether it passed.
    pub probes: Vec<String>,
    /// Each member the adoption moved, `name -> short`.
    pub adopted: Vec<String>,
}

/// One culprit of a group update: a member (with its partner for a pair)
/// and what the bisect inside it found.
#[derive(Debug, Clone, Serialize)]
pub struct GroupCulprit {
    pub members: Vec<String>,
    /// Its first bad commit, when the inner bisect found one (the member
    /// is then held at the commit before it; otherwise it stays where it
    /// is).
    pub first_bad: Option<CommitInfo>,
    /// The inner bisect, in words (candidates, steps, baseline runs).
    pub inner: Option<String>,
}

/// Baseline runs spent, and their wall time in seconds (the sum of the
/// cases' durations: GPU time on a GPU box).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct BaselineSpent {
    pub runs: u32,
    pub seconds: f64,
}

impl BaselineSpent {
    pub fn add(&mut self, other: BaselineSpent) {
        self.runs += other.runs;
        self.seconds += other.seconds;
    }

    /// One baseline run.
    pub fn add_run(&mut self, run: &BaselineRun) {
        self.runs += 1;
        self.seconds += run.cases.iter().map(|c| c.duration_s).sum::<f64>();
    }

    /// Every step of a bisect, retries included.
    pub fn add_bisect(&mut self, b: &super::bisect::BisectReport) {
        self.runs += b.baseline_runs;
        self.seconds += b.baseline_s;
    }

    pub fn minutes(&self) -> f64 {
        self.seconds / 60.0
    }
}
