//! The bounded fix-and-retest loop. Rules:
//!
//! - at most `update.max_attempts` attempts (an attempt = one strategy that
//!   changed something, or failed trying); 0 turns the loop off;
//! - before each attempt, stop when the GPU minutes used by baseline runs
//!   (the initial run included) plus the last run's minutes would pass
//!   `update.gpu_minutes_budget`;
//! - each attempt takes the failing cases in run order and, for each, the
//!   strategies in `update.strategies` order: the first one that applies,
//!   is not switched away from and actually changes something is used;
//! - progress = fewer failing cases (none newly failing), or the same cases
//!   failing with a different failure; a fix after which a case fails that
//!   passed before is worse and is dropped (`Bench::drop_last`);
//! - a strategy is switched away from after `update.switch_after_no_progress`
//!   attempts of it without progress, or when its target failure's signature
//!   came back `update.switch_after_repeats` times in a row; a strategy whose
//!   apply fails is switched away from at once; progress makes every
//!   strategy available again;
//! - every attempt appends a `debug_log.txt` block and an `attempts.jsonl`
//!   line.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::classify::{Failure, classify};
use super::error::FixError;
use super::log::FixLog;
use super::stop::{NextAction, StopReason, SwitchReason};
use super::strategies::{AppliedFix, FixContext, Strategy};
use crate::analysis::Analysis;
use crate::baseline::BaselineRun;
use crate::config::{Config, StrategyKind};

/// What the loop needs from its caller: baseline runs of the staged tree,
/// and commits of fixes in it.
pub trait Bench {
    type Error: std::error::Error + Send + Sync + 'static;
    /// Runs the baseline suite in the staged tree.
    fn run_baseline(&mut self) -> Result<BaselineRun, Self::Error>;
    /// Commits the fix's files and returns the commit hash; `None` when
    /// there was nothing to commit (an environment-only fix).
    fn commit(&mut self, fix: &AppliedFix) -> Result<Option<String>, Self::Error>;
    /// Undoes the last commit and its changes (and nothing else).
    fn drop_last(&mut self) -> Result<(), Self::Error>;
}

/// What the loop works on.
pub struct LoopInput<'a> {
    pub cfg: &'a Config,
    /// The staged wrapper root.
    pub tree: &'a Path,
    /// The staged upstream root.
    pub upstream_dir: &'a Path,
    pub analysis: Option<&'a Analysis>,
    /// `debug_log.txt`, `attempts.jsonl` and `attempts/<n>/` go here.
    pub report_dir: &'a Path,
    /// The failing baseline run that starts the loop.
    pub initial: BaselineRun,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AttemptResult {
    /// The baseline passes.
    #[serde(alias = "SUCCESS")]
    Success,
    /// Progress, not there yet.
    #[serde(alias = "PARTIAL")]
    Partial,
    /// No progress, worse, or the fix could not be made.
    #[serde(alias = "FAILED")]
    Failed,
}

impl std::fmt::Display for AttemptResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl AttemptResult {
    /// The one spelling: screen, Markdown, `debug_log.txt` and JSON alike
    /// (`attempts.jsonl` of older versions spelled it in capitals).
    pub fn as_str(self) -> &'static str {
        match self {
            AttemptResult::Success => "success",
            AttemptResult::Partial => "partial",
            AttemptResult::Failed => "failed",
        }
    }
}

/// How a re-run compares with the run before the fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Progress {
    /// Every case passes.
    Passes,
    /// Fewer cases fail and none newly.
    Fewer,
    /// The same cases fail, at least one differently.
    Different,
    /// The same cases fail the same way.
    Same,
    /// A case that passed before fails now.
    Worse,
}

impl Progress {
    pub fn is_progress(self) -> bool {
        matches!(
            self,
            Progress::Passes | Progress::Fewer | Progress::Different
        )
    }
}

/// One attempt, as `attempts.jsonl` records it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AttemptRecord {
    /// 1-based.
    pub attempt: u32,
    pub time: jiff::Timestamp,
    pub strategy: StrategyKind,
    /// The failure the attempt addressed.
    pub failure: Failure,
    /// The fix's summary, or why it could not be made.
    pub fix_applied: String,
    pub files: Vec<String>,
    pub commit: Option<String>,
    pub result: AttemptResult,
    pub progress: Option<Progress>,
    /// The fix made things worse and was dropped.
    pub dropped: bool,
    pub failing_before: Vec<String>,
    pub failing_after: Vec<String>,
    /// The addressed case's failure signature after the re-run, if it still
    /// fails.
    pub signature_after: Option<String>,
    pub reduced: Option<String>,
    pub next_action: NextAction,
    /// GPU minutes of baseline runs so far, this attempt's included.
    pub gpu_minutes: f64,
    pub error: Option<String>,
    /// Strategies that had nothing to do before this attempt, with why.
    pub skipped: Vec<String>,
}

/// How the loop ended.
#[derive(Debug, Clone, Serialize)]
pub struct LoopOutcome {
    pub success: bool,
    pub attempts: Vec<AttemptRecord>,
    pub stop_reason: StopReason,
    /// What kept fixes gave up (`vace_short: video_length 81 -> 65`).
    pub reduced: Vec<String>,
    /// Fixes kept (committed and not dropped), in order.
    pub applied: Vec<AppliedFix>,
    /// Strategies that had nothing to do, with why.
    pub skipped: Vec<String>,
    /// GPU minutes used by baseline runs, the initial run included.
    pub gpu_minutes: f64,
    /// The run of the tree as the loop leaves it.
    pub last_run: BaselineRun,
}

/// GPU minutes a run used: the sum of its case durations.
pub fn run_minutes(run: &BaselineRun) -> f64 {
    run.cases.iter().map(|c| c.duration_s).sum::<f64>() / 60.0
}

/// `case -> signature` of every failing case.
fn failing_map(failures: &[Failure]) -> BTreeMap<String, String> {
    failures
        .iter()
        .map(|f| (f.case.clone(), f.signature.clone()))
        .collect()
}

/// Compares the failures after a fix with those before.
pub fn assess(before: &[Failure], after: &[Failure]) -> Progress {
    if after.is_empty() {
        return Progress::Passes;
    }
    let (b, a) = (failing_map(before), failing_map(after));
    if a.keys().any(|c| !b.contains_key(c)) {
        return Progress::Worse;
    }
    if a.len() < b.len() {
        return Progress::Fewer;
    }
    if a != b {
        Progress::Different
    } else {
        Progress::Same
    }
}

/// Per-strategy counters and the strategies switched away from.
#[derive(Debug, Clone, Default)]
pub struct Switching {
    pub no_progress_limit: u32,
    pub repeat_limit: u32,
    pub exhausted: BTreeSet<StrategyKind>,
    no_progress: BTreeMap<StrategyKind, u32>,
    repeats: BTreeMap<StrategyKind, u32>,
}

impl Switching {
    pub fn new(no_progress_limit: u32, repeat_limit: u32) -> Self {
        Self {
            no_progress_limit: no_progress_limit.max(1),
            repeat_limit: repeat_limit.max(1),
            ..Self::default()
        }
    }

    /// Records an attempt of `kind`; `repeated`: its target failure came back
    /// with the same signature. Returns why `kind` is switched away from, if
    /// it is.
    pub fn record(
        &mut self,
        kind: StrategyKind,
        progress: Progress,
        repeated: bool,
    ) -> Option<SwitchReason> {
        if progress.is_progress() {
            self.exhausted.clear();
            self.no_progress.clear();
            self.repeats.clear();
            return None;
        }
        let n = self.no_progress.entry(kind).or_default();
        *n += 1;
        let n = *n;
        let r = self.repeats.entry(kind).or_default();
        *r = if repeated { *r + 1 } else { 0 };
        let r = *r;
        let reason = if r >= self.repeat_limit {
            Some(SwitchReason::Repeated {
                times: r,
                strategy: kind,
            })
        } else if n >= self.no_progress_limit {
            Some(SwitchReason::NoProgress {
                attempts: n,
                strategy: kind,
            })
        } else {
            None
        };
        if reason.is_some() {
            self.exhausted.insert(kind);
        }
        reason
    }

    /// Switches away from `kind` at once (its apply failed).
    pub fn give_up(&mut self, kind: StrategyKind) {
        self.exhausted.insert(kind);
    }
}

fn failures_of(run: &BaselineRun, analysis: Option<&Analysis>) -> Vec<Failure> {
    let mut failures: Vec<Failure> = run.failing().into_iter().map(classify).collect();
    if let Some(a) = analysis {
        for f in &mut failures {
            f.link(a);
        }
    }
    failures
}

fn names(failures: &[Failure]) -> Vec<String> {
    failures.iter().map(|f| f.case.clone()).collect()
}

fn bench_err<E: std::error::Error + Send + Sync + 'static>(e: E) -> FixError {
    FixError::Bench(Box::new(e))
}

/// Runs the loop until the baseline passes or a rule stops it.
pub fn run_loop<B: Bench>(
    input: LoopInput<'_>,
    strategies: &[Box<dyn Strategy>],
    bench: &mut B,
) -> Result<LoopOutcome, FixError> {
    let cfg = input.cfg;
    let rules = &cfg.update;
    let log = FixLog::new(input.report_dir);
    let mut run = input.initial;
    let mut failures = failures_of(&run, input.analysis);
    let mut gpu = run_minutes(&run);
    let mut last_minutes = gpu;
    let mut switching = Switching::new(rules.switch_after_no_progress, rules.switch_after_repeats);
    let mut not_applicable: BTreeSet<(StrategyKind, String, String)> = BTreeSet::new();
    let mut attempts: Vec<AttemptRecord> = Vec::new();
    let mut applied: Vec<AppliedFix> = Vec::new();
    let mut all_skipped: Vec<String> = Vec::new();

    let stop_reason = loop {
        if failures.is_empty() {
            break if attempts.is_empty() {
                StopReason::NothingToFix
            } else {
                StopReason::Fixed
            };
        }
        if let Some(f) = failures.iter().find(|f| f.class.is_infrastructure()) {
            break StopReason::Infrastructure {
                case: f.case.clone(),
                message: f.message.clone(),
            };
        }
        if crate::process::interrupted() {
            break StopReason::Interrupted;
        }
        if rules.max_attempts == 0 {
            break StopReason::Off;
        }
        if attempts.len() as u32 >= rules.max_attempts {
            break StopReason::AttemptLimit {
                max: rules.max_attempts,
            };
        }
        if let Some(budget) = rules.gpu_minutes_budget
            && gpu + last_minutes > budget
        {
            break StopReason::GpuBudget {
                used: gpu,
                budget,
                per_run: last_minutes,
            };
        }
        let attempt = attempts.len() as u32 + 1;
        tracing::info!(attempt, failing = %names(&failures).join(", "), "fix attempt started");
        let context_dir = input.report_dir.join("attempts").join(attempt.to_string());
        let ctx = FixContext {
            cfg,
            tree: input.tree,
            upstream_dir: input.upstream_dir,
            analysis: input.analysis,
            attempt,
            context_dir: &context_dir,
        };

        // Pick the first (failure, strategy) pair that changes something.
        let mut skipped = Vec::new();
        let mut chosen: Option<(Failure, StrategyKind, Result<AppliedFix, FixError>)> = None;
        'pick: for f in &failures {
            for s in strategies {
                let kind = s.kind();
                let key = (kind, f.case.clone(), f.signature.clone());
                if switching.exhausted.contains(&kind)
                    || !s.applies(f)
                    || not_applicable.contains(&key)
                {
                    continue;
                }
                match s.apply(&ctx, f) {
                    Ok(Some(fix)) => {
                        chosen = Some((f.clone(), kind, Ok(fix)));
                        break 'pick;
                    }
                    Ok(None) => {
                        skipped.push(format!("{kind} for case {}: nothing to do", f.case));
                        not_applicable.insert(key);
                    }
                    Err(FixError::NotApplicable { reason, .. }) => {
                        skipped.push(format!("{kind} for case {}: {reason}", f.case));
                        not_applicable.insert(key);
                    }
                    Err(e) => {
                        chosen = Some((f.clone(), kind, Err(e)));
                        break 'pick;
                    }
                }
            }
        }
        all_skipped.extend(skipped.iter().cloned());
        let Some((failure, kind, result)) = chosen else {
            let first = &failures[0];
            break StopReason::NoStrategyLeft {
                class: first.class.clone(),
                message: first.message.clone(),
                case: first.case.clone(),
                switched_away: switching.exhausted.iter().copied().collect(),
            };
        };
        let failing_before = names(&failures);
        crate::progress::emit(|| crate::progress::Event::AttemptStarted {
            attempt,
            max: rules.max_attempts,
            strategy: kind.to_string(),
            case: failure.case.clone(),
        });
        let finished = |result: AttemptResult| {
            crate::progress::emit(|| crate::progress::Event::AttemptFinished {
                attempt,
                result: result.as_str().to_lowercase(),
            })
        };

        let fix = match result {
            Ok(fix) => fix,
            Err(e) => {
                switching.give_up(kind);
                let record = AttemptRecord {
                    attempt,
                    time: crate::env::now(),
                    strategy: kind,
                    failure,
                    fix_applied: format!("none: {kind} failed: {e}"),
                    files: Vec::new(),
                    commit: None,
                    result: AttemptResult::Failed,
                    progress: None,
                    dropped: false,
                    failing_after: failing_before.clone(),
                    failing_before,
                    signature_after: None,
                    reduced: None,
                    next_action: NextAction::Switch {
                        why: SwitchReason::Failed { strategy: kind },
                    },
                    gpu_minutes: gpu,
                    error: Some(e.to_string()),
                    skipped,
                };
                log.append(&record)?;
                attempts.push(record);
                finished(AttemptResult::Failed);
                continue;
            }
        };

        let commit = bench.commit(&fix).map_err(bench_err)?;
        let new_run = bench.run_baseline().map_err(bench_err)?;
        last_minutes = run_minutes(&new_run);
        gpu += last_minutes;
        let new_failures = failures_of(&new_run, input.analysis);
        let progress = assess(&failures, &new_failures);
        let signature_after = new_failures
            .iter()
            .find(|f| f.case == failure.case)
            .map(|f| f.signature.clone());
        let repeated = signature_after.as_deref() == Some(failure.signature.as_str());
        let dropped = progress == Progress::Worse;
        let failing_after = names(&new_failures);
        if dropped {
            bench.drop_last().map_err(bench_err)?;
        }
        let switch = switching.record(kind, progress, repeated);
        let result = match progress {
            Progress::Passes => AttemptResult::Success,
            Progress::Fewer | Progress::Different => AttemptResult::Partial,
            Progress::Same | Progress::Worse => AttemptResult::Failed,
        };
        let done = attempt >= rules.max_attempts;
        let next_action = if progress == Progress::Passes {
            NextAction::None
        } else if done {
            NextAction::Stop {
                max_attempts: rules.max_attempts,
            }
        } else if dropped {
            NextAction::Dropped {
                broke: failing_after
                    .iter()
                    .filter(|c| !failing_before.contains(c))
                    .cloned()
                    .collect(),
                switch,
            }
        } else if let Some(why) = switch {
            NextAction::Switch { why }
        } else if progress.is_progress() {
            let next = &new_failures[0];
            NextAction::NextFailure {
                class: next.class.clone(),
                case: next.case.clone(),
            }
        } else {
            NextAction::Retry { strategy: kind }
        };
        let record = AttemptRecord {
            attempt,
            time: crate::env::now(),
            strategy: kind,
            failure,
            fix_applied: fix.summary.clone(),
            files: fix.files.clone(),
            commit,
            result,
            progress: Some(progress),
            dropped,
            failing_before,
            failing_after,
            signature_after,
            reduced: fix.reduced.clone(),
            next_action,
            gpu_minutes: gpu,
            error: None,
            skipped,
        };
        log.append(&record)?;
        tracing::info!(attempt, strategy = %kind, result = %record.result, "fix attempt finished");
        attempts.push(record);
        finished(result);
        if !dropped {
            applied.push(fix);
            run = new_run;
            failures = new_failures;
            if progress.is_progress() {
                not_applicable.clear();
            }
        }
    };

    Ok(LoopOutcome {
        success: failures.is_empty(),
        reduced: applied.iter().filter_map(|f| f.reduced.clone()).collect(),
        attempts,
        stop_reason,
        applied,
        skipped: all_skipped,
        gpu_minutes: gpu,
        last_run: run,
    })
}

#[cfg(test)]
#[path = "attempt_loop_tests.rs"]
mod tests;
