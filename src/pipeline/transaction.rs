//! `tether update` end to end: lock, crash recovery, target under the track
//! rule and soak, analysis, backup, staging, the baseline on the staged tree,
//! the fix-and-retest loop, then promotion, parking for approval
//! (`update.promote`) or rollback — every step journaled
//! so that a crash at any point is recovered by the next tether command.

use std::path::Path;

use git2::Oid;

use super::error::{RolledBackError, TransactionError};
use super::staged_run::{CaseRun, StagedRun};
use super::update_report::{UpdateOptions, UpdateOutcome, UpdateReport};
use crate::analysis::{self, AnalyzeOptions};
use crate::baseline::{self, BaselineRun};
use crate::config::{Config, UpstreamConfig};
use crate::fix::{self, AppliedFix, Bench, LoopInput};
use crate::state::{LockError, StateDir, StateLock};
use crate::update::{
    Backup, Journal, JournalState, StageOutcome, UpdatePaths, commit_files, drop_last_commit,
    new_id, plan_promotion, promote, recover, rollback,
};
use crate::upstream::{self, CheckOptions, Mirror};

/// Runs crash recovery when no other tether command holds the lock; returns
/// what it did, in words.
pub fn recover_if_idle(cfg: &Config) -> Result<Option<String>, TransactionError> {
    let state = StateDir::new(&cfg.project.state_dir);
    if !UpdatePaths::new(&state).journal().exists() {
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
    let (note, spent) = match super::held_retest::retest(cfg, up, opts)? {
        super::held_retest::Retest::Same(report) => return Ok(*report),
        super::held_retest::Retest::Full { note, spent } => (note, spent),
    };
    let mut report = update_locked(cfg, up, opts)?;
    report.spent.add(spent);
    if let Some(note) = note {
        // the re-test's reason for the full update goes first
        report.notes.insert(0, note);
        if let Some(dir) = &report.report_dir {
            write_report(dir, &report)?;
        }
    }
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
    // a paused update keeps its journal until --continue or --abort
    if let Some(j) = Journal::load(&state)?
        && j.state == JournalState::Paused
    {
        return Err(super::paused::paused_error(&j));
    }
    // an upstream with a parked update waits for its approval or rejection
    if let Some(reason) = super::gate::blocks(cfg, &up.name)? {
        report.outcome = UpdateOutcome::UpToDate { reason };
        return Ok(finish(report));
    }

    // the target: --to, else the newest soaked commit under the track rule
    let check = upstream::check(cfg, up, &CheckOptions { fetch: true })?;
    if check.history.is_rewritten() {
        return Err(TransactionError::HistoryRewritten(up.name.clone()));
    }
    // a vendored copy whose record is wrong: say which base is used
    report
        .notes
        .extend(check.current.base.as_ref().and_then(|b| b.message.clone()));
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
        && h.tested_target().id == target.to_string()
    {
        report.held_back = Some(h.clone());
        report.outcome = UpdateOutcome::UpToDate {
            reason: format!(
                "`{}` is held back at {}: the target {} still contains the first bad commit {} ({}); waiting for the upstream to move",
                up.name,
                h.at.short,
                h.tested_target().short,
                h.first_bad.short,
                h.first_bad.subject
            ),
        };
        return Ok(finish(report));
    }
    if let Some(r) = crate::update::rejection(&state, &up.name) {
        if r.target != target.to_string() {
            // the upstream moved on from what was rejected: the hold ends
            crate::update::clear_rejection(&state, &up.name)?;
        } else if opts.to.is_none() {
            report.outcome = UpdateOutcome::UpToDate {
                reason: format!(
                    "`{}` is held at {:.7}: update {} to {:.7} was {} at {}; waiting for the upstream to move",
                    up.name,
                    r.held_at,
                    r.id,
                    r.target,
                    format_args!("rejected by {}", r.by),
                    r.at
                ),
            };
            return Ok(finish(report));
        }
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
            peers: Default::default(),
        },
    )?;
    let a = &analysed.analysis;
    report.from = Some(a.from.clone());
    report.to = Some(a.to.clone());
    report.commits = a.commits.len();
    report.analysis_dir = Some(analysed.dir.clone());
    report.analysis_verdict = Some(a.verdict());
    report.breaking_points = a.count(analysis::python::PointSeverity::Breaking);
    report.protected_changes = super::gate::protected_changes(a);

    let id = new_id(&state, &up.name);
    let report_dir = cfg.project.outputs_dir.join(format!("update-{id}"));
    crate::state::create_private_dir(&report_dir).map_err(|source| {
        crate::document::DocumentError::Write {
            path: report_dir.clone(),
            source,
        }
    })?;
    report.id = Some(id.clone());
    report.report_dir = Some(report_dir.clone());

    let backup = Backup::take(cfg, up, &mirror, &id)?;
    let mut journal = Journal::new(&state, &backup, &target.to_string());
    journal.save(&state)?;
    crate::failpoint::hit("update.journal.saved");

    let ctx = StagedRun {
        cfg,
        up,
        mirror: &mirror,
        backup: &backup,
        peers: &[],
        fixed: &[],
    };
    let plan = Plan {
        target,
        analysis: Some(a),
        report_dir: &report_dir,
        opts,
    };
    let result = stage_test_fix_promote(ctx, &mut journal, &plan, &mut report);
    settle(cfg, &mut journal, result, report, &report_dir)
}

/// Ends an update with the outcome of staging, testing and fixing: a
/// pause is journaled and reported, a rollback or dry run restores the live
/// wrapper, an error rolls back and says why; the journal is archived
/// (but for a pause) and the report written.
pub(super) fn settle(
    cfg: &Config,
    journal: &mut Journal,
    result: Result<UpdateOutcome, TransactionError>,
    mut report: UpdateReport,
    report_dir: &Path,
) -> Result<UpdateReport, TransactionError> {
    let state = StateDir::new(&cfg.project.state_dir);
    let journal = &mut *journal;
    let outcome = match result {
        Ok(outcome) => outcome,
        Err(error) => {
            // anything that went wrong mid-way: restore, then say why
            let rb = rollback(cfg, journal, &state, &error.to_string())?;
            journal.archive(&state)?;
            report.rollback = Some(rb.clone());
            report.outcome = UpdateOutcome::RolledBack {
                reason: error.to_string(),
            };
            let _ = write_report(report_dir, &finish(report));
            return Err(RolledBackError {
                error: Box::new(error),
                rollback: Box::new(rb),
            }
            .into());
        }
    };
    match &outcome {
        UpdateOutcome::RolledBack { reason } => {
            report.rollback = Some(rollback(cfg, journal, &state, reason)?);
        }
        UpdateOutcome::DryRun => {
            // nothing is promoted: the staged tree goes, the live tree stays
            report.rollback = Some(rollback(
                cfg,
                journal,
                &state,
                "dry run: the baseline passed on the staged update; nothing was promoted",
            )?);
        }
        UpdateOutcome::Promoted => crate::failpoint::hit("promote.promoted"),
        UpdateOutcome::UpToDate { .. } | UpdateOutcome::StillHeld { .. } => {}
        UpdateOutcome::Parked { reasons, .. } => {
            // the staged tree and the backup stay; the journal moves into
            // the parked file
            let parked = crate::update::park(
                &state,
                journal,
                reasons.clone(),
                super::gate::summary(&report),
                cfg.update.parked_expiry,
            )?;
            report.outcome = UpdateOutcome::Parked {
                reasons: reasons.clone(),
                expires: parked.expires,
            };
            let report = finish(report);
            write_report(report_dir, &report)?;
            return Ok(report);
        }
        UpdateOutcome::Paused { reason, .. } => {
            // the staged tree stays; so does the journal, as a resting state
            journal.advance(&state, JournalState::Paused, Some(reason.clone()))?;
            report.outcome = outcome;
            let report = finish(report);
            write_report(report_dir, &report)?;
            return Ok(report);
        }
    }
    journal.archive(&state)?;
    report.outcome = outcome;
    let report = finish(report);
    write_report(report_dir, &report)?;
    Ok(report)
}

/// What one update stages and where it reports.
pub(super) struct Plan<'a> {
    pub(super) target: Oid,
    pub(super) analysis: Option<&'a analysis::Analysis>,
    pub(super) report_dir: &'a Path,
    pub(super) opts: &'a UpdateOptions,
}

fn stage_test_fix_promote(
    ctx: StagedRun<'_>,
    journal: &mut Journal,
    plan: &Plan<'_>,
    report: &mut UpdateReport,
) -> Result<UpdateOutcome, TransactionError> {
    let state = &ctx.state();
    let staged = ctx.stage(ctx.backup, plan.target)?;
    report.notes.extend(staged.notes.iter().cloned());
    report.merge.clone_from(&staged.merge);
    journal.staged_head = Some(staged.head.to_string());
    journal.advance(state, JournalState::Staged, None)?;
    crate::failpoint::hit("update.stage.staged");
    match &staged.outcome {
        StageOutcome::Committed { commit, .. } => report.staged_commit = Some(commit.to_string()),
        StageOutcome::NothingToCommit => {}
        StageOutcome::Conflicts { files } if staged.is_merge_conflict() => {
            report.conflicts = files
                .iter()
                .map(|f| format!("{}: {}", f.path, f.reason))
                .collect();
            journal.conflicts = files.iter().map(|f| f.path.clone()).collect();
            journal.save(state)?;
            if let Some(paused) =
                super::conflicts::resolve(ctx, journal, plan, &staged, files, report)?
            {
                return Ok(paused);
            }
        }
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
    test_fix_promote(
        ctx,
        journal,
        plan,
        (&staged.dir, &staged.upstream_dir),
        report,
    )
}

/// The staged tree's baseline, the fix loop, then promotion (or the
/// rollback outcome): the rest of an update once the staged branch holds
/// the target. `trees`: the staged wrapper and its upstream.
pub(super) fn test_fix_promote(
    ctx: StagedRun<'_>,
    journal: &mut Journal,
    plan: &Plan<'_>,
    trees: (&Path, &Path),
    report: &mut UpdateReport,
) -> Result<UpdateOutcome, TransactionError> {
    let StagedRun { cfg, .. } = ctx;
    let Plan {
        analysis,
        report_dir,
        opts,
        ..
    } = *plan;
    let (tree, upstream_dir) = trees;
    let state = &ctx.state();
    let mut bench = StagedBench {
        ctx,
        tree,
        report_dir,
        runs: 0,
        committed: Vec::new(),
        spent: Default::default(),
    };
    let initial = bench.run_baseline()?;
    journal.advance(state, JournalState::Tested, None)?;
    crate::failpoint::hit("update.baseline.tested");
    if journal.continued {
        crate::failpoint::hit("update.continue.tested");
    }
    report.initial_run = Some(initial.clone());
    let mut last = initial;
    if !last.passed() && !opts.no_fix && cfg.update.max_attempts > 0 {
        journal.advance(state, JournalState::Fixing, None)?;
        let strategies = fix::strategies_for(cfg);
        let outcome = fix::run_loop(
            LoopInput {
                cfg,
                tree,
                upstream_dir,
                analysis,
                report_dir,
                initial: last,
            },
            &strategies,
            &mut bench,
        )?;
        report.attempts.extend(outcome.attempts.iter().cloned());
        report.fixes.extend(outcome.applied.iter().cloned());
        report.stop_reason = Some(outcome.stop_reason.clone());
        report.reduced = outcome.reduced.clone();
        report.gpu_minutes = outcome.gpu_minutes;
        report.notes.extend(outcome.skipped.iter().cloned());
        last = outcome.last_run;
    }
    report.spent.add(bench.spent);
    let passed = last.passed();
    let failing: Vec<String> = last.failing().iter().map(|c| c.name.clone()).collect();
    report.comparisons = baseline::compare(cfg, &last)?;
    report.final_run = Some(last);
    if !passed {
        if crate::process::interrupted() {
            return Ok(UpdateOutcome::RolledBack {
                reason: "interrupted (tether was asked to stop by a signal) before the baseline passed on the staged update; nothing was promoted".into(),
            });
        }
        let why = if opts.no_fix {
            "fixing was turned off (--no-fix)".to_owned()
        } else {
            report.stop_reason.as_ref().map_or_else(
                || "the fix loop made no attempt".into(),
                ToString::to_string,
            )
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
        let ups: Vec<&UpstreamConfig> = ctx.members().iter().map(|m| m.up).collect();
        report.promotion = Some(plan_promotion(&ups, journal)?);
        return Ok(UpdateOutcome::DryRun);
    }
    let reasons = super::gate::holds(cfg, report);
    if !reasons.is_empty() {
        return Ok(UpdateOutcome::Parked {
            reasons,
            expires: crate::env::now(),
        });
    }
    let promotion = promote(&ctx.members(), journal, state)?;
    report.notes.extend(promotion.notes.iter().cloned());
    report.promotion = Some(promotion.plan);
    Ok(UpdateOutcome::Promoted)
}

/// Runs the baseline in the staged tree and commits fixes there.
struct StagedBench<'a> {
    ctx: StagedRun<'a>,
    tree: &'a Path,
    report_dir: &'a Path,
    runs: u32,
    /// For each applied fix: whether it made a commit.
    committed: Vec<bool>,
    spent: super::update_report::BaselineSpent,
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
        let run = self.ctx.run_cases(CaseRun {
            tree: self.tree,
            run_dir: self.report_dir.join(&run_id),
            run_id,
            cases: None,
            preflight: self.runs == 1,
            ran_on: baseline::RanOn::UpdateCandidate {
                update: self.ctx.backup.id.clone(),
            },
        })?;
        self.spent.add_run(&run);
        Ok(run)
    }

    fn commit(&mut self, fix: &AppliedFix) -> Result<Option<String>, Self::Error> {
        if fix.files.is_empty() {
            self.committed.push(false);
            return Ok(None);
        }
        let id = commit_files(self.ctx.cfg, self.tree, &fix.files, &fix.commit_message)?;
        self.committed.push(true);
        crate::failpoint::hit("update.fix.committed");
        Ok(Some(id))
    }

    fn drop_last(&mut self) -> Result<(), Self::Error> {
        if self.committed.pop() == Some(true) {
            drop_last_commit(self.ctx.backup, self.tree)?;
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
    Ok(crate::document::write(dir, report)?)
}
