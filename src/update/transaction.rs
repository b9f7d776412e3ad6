//! `tether update` end to end: lock, crash recovery, target under the track
//! rule and soak, analysis, backup, staging, the baseline on the staged tree,
//! the fix-and-retest loop, then promotion or rollback — every step journaled
//! so that a crash at any point is recovered by the next tether command.

use std::path::{Path, PathBuf};

use git2::Oid;
use serde::Serialize;

use super::{
    Backup, Journal, JournalState, LockError, PromotionPlan, RollbackReport, StageOutcome,
    StateLock, UpdateError, commit_files, drop_last_commit, new_id, plan_promotion, promote,
    recover, rollback, stage,
};
use crate::analysis::{self, AnalyzeOptions, Verdict};
use crate::baseline::{self, BaselineRun, RunOptions};
use crate::config::{Config, UpstreamConfig};
use crate::fix::{self, AppliedFix, AttemptRecord, Bench, LoopInput};
use crate::state::StateDir;
use crate::upstream::{self, CheckOptions, CommitInfo, Mirror};

#[derive(Debug, thiserror::Error)]
pub enum TransactionError {
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error(transparent)]
    Update(#[from] UpdateError),
    #[error(transparent)]
    Upstream(#[from] upstream::UpstreamError),
    #[error(transparent)]
    Analysis(#[from] analysis::AnalysisError),
    #[error(transparent)]
    Baseline(#[from] baseline::BaselineError),
    #[error(transparent)]
    Fix(#[from] fix::FixError),
    #[error(
        "no baseline cases are configured: tether promotes an update only after the wrapper's baseline passes; add [[baseline.case]] tables to the config"
    )]
    NoCases,
    #[error(
        "upstream `{0}` history was rewritten (force-push): the current commit is not an ancestor of the target; run `tether check` and choose a target with --to"
    )]
    HistoryRewritten(String),
    #[error("cannot write the update report to `{}`", path.display())]
    Report {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    RolledBack(#[from] RolledBackError),
    #[error(transparent)]
    Bisect(#[from] crate::bisect::BisectError),
}

/// An error in the middle of an update, after which everything was restored.
#[derive(Debug)]
pub struct RolledBackError {
    pub error: Box<TransactionError>,
    pub rollback: Box<RollbackReport>,
}

impl std::fmt::Display for RolledBackError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}; the update was rolled back and the live wrapper is unchanged",
            self.error
        )
    }
}

impl std::error::Error for RolledBackError {
    // the wrapped error's own message is part of this one; continue the chain
    // below it so nothing is printed twice
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.error.source()
    }
}

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
}

/// Everything `tether update` did, rendered as `update_report.md` and
/// `update.json` in the report folder.
#[derive(Debug, Clone, Serialize)]
pub struct UpdateReport {
    pub id: Option<String>,
    pub upstream: String,
    pub outcome: UpdateOutcome,
    pub from: Option<CommitInfo>,
    pub to: Option<CommitInfo>,
    pub commits: usize,
    /// What crash recovery did before this update, if anything.
    pub recovery: Option<String>,
    pub analysis_dir: Option<PathBuf>,
    pub analysis_verdict: Option<Verdict>,
    pub breaking_points: usize,
    pub staged_commit: Option<String>,
    pub conflicts: Vec<String>,
    /// The first baseline run on the staged tree.
    pub initial_run: Option<BaselineRun>,
    /// The last baseline run (after fixes).
    pub final_run: Option<BaselineRun>,
    /// The last run's cases against the references for this hardware.
    #[serde(default)]
    pub comparisons: Vec<baseline::CaseComparison>,
    /// The bisect that followed an unfixable update (`adopt-last-good`).
    pub bisect: Option<crate::bisect::BisectReport>,
    /// The upstream is held back at its newest good commit.
    pub held_back: Option<crate::upstream::HeldBack>,
    /// The failed update of the newer target, when this one adopted the
    /// last good commit instead.
    pub failed_target: Option<Box<UpdateReport>>,
    pub attempts: Vec<AttemptRecord>,
    pub fixes: Vec<AppliedFix>,
    pub stop_reason: Option<String>,
    /// Baseline cases that now run reduced (e.g. fewer frames after an OOM).
    pub reduced: Vec<String>,
    pub gpu_minutes: f64,
    pub promotion: Option<PromotionPlan>,
    pub rollback: Option<RollbackReport>,
    pub notes: Vec<String>,
    pub report_dir: Option<PathBuf>,
    pub started: jiff::Timestamp,
    pub finished: jiff::Timestamp,
}

impl UpdateReport {
    pub(super) fn new(upstream: &str) -> Self {
        let now = crate::env::now();
        Self {
            id: None,
            upstream: upstream.to_owned(),
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
            staged_commit: None,
            conflicts: Vec::new(),
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
            promotion: None,
            rollback: None,
            notes: Vec::new(),
            report_dir: None,
            started: now,
            finished: now,
        }
    }
}

/// Runs crash recovery when no other tether command holds the lock; returns
/// what it did, in words.
pub fn recover_if_idle(cfg: &Config) -> Result<Option<String>, TransactionError> {
    let state = StateDir::new(&cfg.project.state_dir);
    if !super::UpdatePaths::new(&state).journal().exists() {
        return Ok(None);
    }
    let _lock = match StateLock::acquire(&state, "recover") {
        Ok(l) => l,
        Err(LockError::Held { .. }) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    Ok(recover(cfg)?.map(|r| r.message))
}

/// `--to last-good`: bisect, then adopt the commit before the first bad one.
pub const LAST_GOOD: &str = "last-good";

/// `tether update` for one upstream.
pub fn update(
    cfg: &Config,
    up: &UpstreamConfig,
    opts: &UpdateOptions,
) -> Result<UpdateReport, TransactionError> {
    if cfg.baseline.cases.is_empty() {
        return Err(TransactionError::NoCases);
    }
    let state = StateDir::new(&cfg.project.state_dir);
    let _lock = StateLock::acquire(&state, "update")?;
    if opts.to.as_deref() == Some(LAST_GOOD) {
        return super::adopt::adopt_last_good(cfg, up, opts, None);
    }
    let report = update_locked(cfg, up, opts)?;
    let unfixable = matches!(report.outcome, UpdateOutcome::RolledBack { .. })
        && report.conflicts.is_empty()
        && report.final_run.as_ref().is_some_and(|r| !r.passed())
        && !crate::process::interrupted();
    if unfixable && cfg.update.on_unfixable == crate::config::OnUnfixable::AdoptLastGood {
        return super::adopt::adopt_last_good(cfg, up, opts, Some(report));
    }
    super::adopt::after_update(&state, up, &report);
    Ok(report)
}

/// The update transaction, for a caller that holds the state lock.
pub fn update_locked(
    cfg: &Config,
    up: &UpstreamConfig,
    opts: &UpdateOptions,
) -> Result<UpdateReport, TransactionError> {
    let state = StateDir::new(&cfg.project.state_dir);
    let mut report = UpdateReport::new(&up.name);
    report.recovery = recover(cfg)?.map(|r| r.message);

    // the target: --to, else the newest soaked commit under the track rule
    let check = upstream::check(cfg, up, &CheckOptions { fetch: true })?;
    if check.history.is_rewritten() {
        return Err(TransactionError::HistoryRewritten(up.name.clone()));
    }
    let mirror = Mirror::open_existing(&state, up)?;
    let target = match &opts.to {
        Some(rev) => mirror.resolve_rev(rev)?,
        None => match &check.adoptable {
            Some(c) => mirror.resolve_rev(&c.id)?,
            None if check.behind == 0 => {
                report.outcome = UpdateOutcome::UpToDate {
                    reason: format!("`{}` is at its target {}", up.name, check.target.short),
                };
                return Ok(finish(report));
            }
            None => {
                report.outcome = UpdateOutcome::UpToDate {
                    reason: format!(
                        "{} new commit(s), none soaked yet (soak {})",
                        check.behind,
                        crate::duration::format(up.soak)
                    ),
                };
                return Ok(finish(report));
            }
        },
    };
    if let Some(h) = &check.held_back
        && opts.to.is_none()
        && h.target.id == target.to_string()
    {
        report.held_back = Some(h.clone());
        report.outcome = UpdateOutcome::UpToDate {
            reason: format!(
                "`{}` is held back at {}: the target {} still contains the first bad commit {} ({}); waiting for the upstream to move",
                up.name, h.at.short, h.target.short, h.first_bad.short, h.first_bad.subject
            ),
        };
        return Ok(finish(report));
    }
    if target.to_string() == check.current.id {
        report.outcome = UpdateOutcome::UpToDate {
            reason: format!("`{}` is already at {:.7}", up.name, target.to_string()),
        };
        return Ok(finish(report));
    }

    let analysed = analysis::analyze(
        cfg,
        up,
        &AnalyzeOptions {
            to: Some(target.to_string()),
            fetch: false,
        },
    )?;
    let a = &analysed.analysis;
    report.from = Some(a.from.clone());
    report.to = Some(a.to.clone());
    report.commits = a.commits.len();
    report.analysis_dir = Some(analysed.dir.clone());
    report.analysis_verdict = Some(a.verdict());
    report.breaking_points = a.count(analysis::python::Severity::Breaking);

    let id = new_id(&state, &up.name);
    let report_dir = cfg.project.outputs_dir.join(format!("update-{id}"));
    crate::state::create_private_dir(&report_dir).map_err(|source| TransactionError::Report {
        path: report_dir.clone(),
        source,
    })?;
    report.id = Some(id.clone());
    report.report_dir = Some(report_dir.clone());

    let backup = Backup::take(cfg, up, &mirror, &id)?;
    let mut journal = Journal::new(&state, &backup, &target.to_string());
    journal.save(&state)?;
    crate::failpoint::hit("update.journal.saved");

    let result = stage_test_fix_promote(
        cfg,
        up,
        &mirror,
        &backup,
        &mut journal,
        &state,
        target,
        a,
        &report_dir,
        opts,
        &mut report,
    );
    let outcome = match result {
        Ok(outcome) => outcome,
        Err(error) => {
            // anything that went wrong mid-way: restore, then say why
            let rb = rollback(cfg, &mut journal, &state, &error.to_string())?;
            journal.archive(&state)?;
            report.rollback = Some(rb.clone());
            report.outcome = UpdateOutcome::RolledBack {
                reason: error.to_string(),
            };
            let _ = write_report(&report_dir, &finish(report));
            return Err(RolledBackError {
                error: Box::new(error),
                rollback: Box::new(rb),
            }
            .into());
        }
    };
    match &outcome {
        UpdateOutcome::RolledBack { reason } => {
            report.rollback = Some(rollback(cfg, &mut journal, &state, reason)?);
        }
        UpdateOutcome::DryRun => {
            // nothing is promoted: the staged tree goes, the live tree stays
            report.rollback = Some(rollback(
                cfg,
                &mut journal,
                &state,
                "dry run: the baseline passed on the staged update; nothing was promoted",
            )?);
        }
        UpdateOutcome::Promoted => crate::failpoint::hit("promote.promoted"),
        UpdateOutcome::UpToDate { .. } => {}
    }
    journal.archive(&state)?;
    report.outcome = outcome;
    let report = finish(report);
    write_report(&report_dir, &report)?;
    Ok(report)
}

#[allow(clippy::too_many_arguments)]
fn stage_test_fix_promote(
    cfg: &Config,
    up: &UpstreamConfig,
    mirror: &Mirror,
    backup: &Backup,
    journal: &mut Journal,
    state: &StateDir,
    target: Oid,
    analysis: &analysis::Analysis,
    report_dir: &Path,
    opts: &UpdateOptions,
    report: &mut UpdateReport,
) -> Result<UpdateOutcome, TransactionError> {
    let staged = stage(cfg, up, mirror, backup, target)?;
    report.notes.extend(staged.notes.iter().cloned());
    journal.staged_head = Some(staged.head.to_string());
    journal.advance(state, JournalState::Staged, None)?;
    crate::failpoint::hit("update.stage.staged");
    match &staged.outcome {
        StageOutcome::Committed { commit, .. } => report.staged_commit = Some(commit.to_string()),
        StageOutcome::NothingToCommit => {}
        StageOutcome::Conflicts { files } => {
            report.conflicts = files
                .iter()
                .map(|f| format!("{}: {}", f.path, f.reason))
                .collect();
            return Ok(UpdateOutcome::RolledBack {
                reason: format!(
                    "the wrapper's local modifications of the vendored copy conflict with the upstream change in {} file(s): {}",
                    files.len(),
                    crate::text::cut_list(
                        &files.iter().map(|f| f.path.as_str()).collect::<Vec<_>>(),
                        crate::text::MESSAGE_ITEMS
                    )
                ),
            });
        }
    }

    let mut bench = StagedBench {
        cfg,
        backup,
        tree: &staged.dir,
        report_dir,
        runs: 0,
        committed: Vec::new(),
    };
    let initial = bench.run_baseline()?;
    journal.advance(state, JournalState::Tested, None)?;
    crate::failpoint::hit("update.baseline.tested");
    report.initial_run = Some(initial.clone());
    let mut last = initial;
    if !last.passed() && !opts.no_fix && cfg.update.max_attempts > 0 {
        journal.advance(state, JournalState::Fixing, None)?;
        let strategies = fix::strategies_for(cfg);
        let outcome = fix::run_loop(
            LoopInput {
                cfg,
                tree: &staged.dir,
                upstream_dir: &staged.upstream_dir,
                analysis: Some(analysis),
                report_dir,
                initial: last,
            },
            &strategies,
            &mut bench,
        )?;
        report.attempts = outcome.attempts.clone();
        report.fixes = outcome.applied.clone();
        report.stop_reason = Some(outcome.stop_reason.clone());
        report.reduced = outcome.reduced.clone();
        report.gpu_minutes = outcome.gpu_minutes;
        report.notes.extend(outcome.skipped.iter().cloned());
        last = outcome.last_run;
    }
    let passed = last.passed();
    let failing: Vec<String> = last.failing().iter().map(|c| c.name.clone()).collect();
    report.comparisons = baseline::compare(cfg, &last)?;
    report.final_run = Some(last);
    if !passed {
        let why = if opts.no_fix {
            "fixing was turned off (--no-fix)".to_owned()
        } else {
            report
                .stop_reason
                .clone()
                .unwrap_or_else(|| "the fix loop made no attempt".into())
        };
        return Ok(UpdateOutcome::RolledBack {
            reason: format!(
                "the baseline still fails on the staged update ({}): {why}",
                failing.join(", ")
            ),
        });
    }
    let regressed: Vec<String> = report
        .comparisons
        .iter()
        .filter(|c| c.is_regression())
        .map(|c| c.case.clone())
        .collect();
    if !regressed.is_empty() && !cfg.update.allow_regressions {
        return Ok(UpdateOutcome::RolledBack {
            reason: format!(
                "the baseline passes on the staged update but regressed against the recorded references ({}); set update.allow_regressions = true to promote such updates",
                regressed.join(", ")
            ),
        });
    }
    if opts.dry_run {
        report.promotion = Some(plan_promotion(up, journal)?);
        return Ok(UpdateOutcome::DryRun);
    }
    let promotion = promote(up, mirror, journal, state)?;
    report.notes.extend(promotion.notes.iter().cloned());
    report.promotion = Some(promotion.plan);
    Ok(UpdateOutcome::Promoted)
}

/// Runs the baseline in the staged tree and commits fixes there.
struct StagedBench<'a> {
    cfg: &'a Config,
    backup: &'a Backup,
    tree: &'a Path,
    report_dir: &'a Path,
    runs: u32,
    /// For each applied fix: whether it made a commit.
    committed: Vec<bool>,
}

impl Bench for StagedBench<'_> {
    type Error = TransactionError;

    fn run_baseline(&mut self) -> Result<BaselineRun, Self::Error> {
        let run_id = if self.runs == 0 {
            "baseline-initial".to_owned()
        } else {
            format!("baseline-after-attempt-{}", self.runs)
        };
        self.runs += 1;
        let run = baseline::run_suite(
            self.cfg,
            self.tree,
            &RunOptions {
                run_dir: self.report_dir.join(&run_id),
                run_id,
                cases: None,
                cancel: None,
                preflight: self.runs == 1,
                ran_on: baseline::RanOn::UpdateCandidate {
                    update: self.backup.id.clone(),
                },
            },
        )?;
        Ok(run)
    }

    fn commit(&mut self, fix: &AppliedFix) -> Result<String, Self::Error> {
        if fix.files.is_empty() {
            self.committed.push(false);
            return Ok(String::new());
        }
        let id = commit_files(self.cfg, self.tree, &fix.files, &fix.commit_message)?;
        self.committed.push(true);
        crate::failpoint::hit("update.fix.committed");
        Ok(id)
    }

    fn drop_last(&mut self) -> Result<(), Self::Error> {
        if self.committed.pop() == Some(true) {
            drop_last_commit(self.backup, self.tree)?;
        }
        Ok(())
    }
}

fn finish(mut report: UpdateReport) -> UpdateReport {
    report.finished = crate::env::now();
    report
}

/// Writes `update_report.md` and `update.json` into the report folder.
pub fn write_report(dir: &Path, report: &UpdateReport) -> Result<(), TransactionError> {
    let err = |source| TransactionError::Report {
        path: dir.to_path_buf(),
        source,
    };
    let json = serde_json::to_string_pretty(report).map_err(|e| err(std::io::Error::other(e)))?;
    crate::state::write_atomic(
        &dir.join("update.json"),
        (crate::redact::redact(&json).into_owned() + "\n").as_bytes(),
    )
    .map_err(err)?;
    crate::state::write_atomic(
        &dir.join("update_report.md"),
        crate::report::update::markdown(report).as_bytes(),
    )
    .map_err(err)?;
    Ok(())
}
