//! One bisect step: the wrapper staged with the upstream at one commit (a
//! clone under the state dir, never the live tree), the chosen cases run in
//! it, the verdict from their failure signatures, retries for a flaky
//! failure, and the step logged to `debug_log.txt` and `bisect.jsonl`.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::BisectError;
use super::model::{StepRecord, StepRole};
use super::search::StepVerdict;
use crate::pipeline::staged_run::{CaseRun, StagedRun};
use crate::update::StageOutcome;
use crate::upstream::CommitInfo;

pub struct Runner<'a> {
    pub(super) ctx: StagedRun<'a>,
    pub(super) report_dir: PathBuf,
    pub(super) n: u32,
    /// The most steps the bisect takes without skips (both ends count).
    pub(super) at_most: u32,
}

/// What a step found.
pub struct StepOutcome {
    pub record: StepRecord,
    /// The normalised signatures of its failures.
    pub signatures: Vec<String>,
    /// The cases that failed.
    pub failing: Vec<String>,
}

/// One run's reading of a commit.
#[derive(Clone)]
pub(super) struct Reading {
    verdict: StepVerdict,
    /// Baseline wall time of the run (the sum of case durations).
    pub(super) seconds: f64,
    why: String,
    signatures: Vec<String>,
    failing: Vec<String>,
}

impl Reading {
    fn skip(why: String) -> Reading {
        Reading {
            verdict: StepVerdict::Skip,
            seconds: 0.0,
            why,
            signatures: Vec::new(),
            failing: Vec::new(),
        }
    }
}

/// Whether a step is settled after its run `runs`: a pass settles it (as
/// flaky when an earlier run failed); a failure is run again up to
/// `retries` times, then the first failing run's reading stands.
pub(super) fn settle(
    mut reading: Reading,
    first: &mut Option<Reading>,
    runs: u32,
    retries: u32,
) -> Option<Reading> {
    if reading.verdict == StepVerdict::Good {
        if let Some(f) = first {
            reading.why = format!(
                "passed on run {runs} after failing on run 1 ({} on run 1: {}): a flaky failure",
                f.verdict.as_str(),
                f.why
            );
        }
        return Some(reading);
    }
    if first.is_none() {
        *first = Some(reading);
    }
    if runs > retries || crate::process::interrupted() {
        // every run failed: the first run's reading stands
        return first.clone();
    }
    None
}

/// A staged tree of one run and the work folder to remove after it.
pub(super) struct StagedTree {
    pub(super) dir: PathBuf,
    pub(super) work: PathBuf,
}

/// A run's reading of its commit: good when the cases pass; bad when a
/// hunted failure is among its failures; a skip for other failures and for
/// the cluster's own (infrastructure).
pub(super) fn read(run: &crate::baseline::BaselineRun, hunt: &Hunt<'_>) -> Reading {
    let seconds: f64 = run.cases.iter().map(|c| c.duration_s).sum();
    if run.passed() {
        return Reading {
            verdict: StepVerdict::Good,
            seconds,
            why: "the cases pass".into(),
            signatures: Vec::new(),
            failing: Vec::new(),
        };
    }
    let failures: Vec<crate::fix::Failure> = run
        .failing()
        .into_iter()
        .map(crate::fix::classify)
        .collect();
    let signatures: Vec<String> = failures.iter().map(|f| f.signature.clone()).collect();
    let failing: Vec<String> = failures.iter().map(|f| f.case.clone()).collect();
    let first = failures
        .first()
        .map(|f| format!("{}: {}", f.case, f.message))
        .unwrap_or_default();
    // the cluster's failure says nothing about this commit
    let infrastructure = failures.iter().any(|f| f.class.is_infrastructure());
    let hunted = !infrastructure
        && (hunt.signatures.is_empty() || signatures.iter().any(|s| hunt.signatures.contains(s)));
    Reading {
        seconds,
        verdict: if hunted {
            StepVerdict::Bad
        } else {
            StepVerdict::Skip
        },
        why: if hunted {
            first
        } else {
            format!("a different failure than the one hunted: {first}")
        },
        signatures,
        failing,
    }
}

/// The cases a step runs and the failures it hunts.
pub struct Hunt<'a> {
    pub cases: &'a [String],
    /// Failure signatures that make a commit bad; empty (the bad end) makes
    /// any failure bad.
    pub signatures: &'a [String],
    /// Runs after the first for a failure that may be flaky.
    pub retries: u32,
}

impl<'a> Runner<'a> {
    pub fn new(ctx: StagedRun<'a>, report_dir: &Path) -> Runner<'a> {
        // continue the numbering of a resumed bisect
        let n = fs_err::read_to_string(report_dir.join("bisect.jsonl"))
            .map(|t| t.lines().count() as u32)
            .unwrap_or(0);
        Runner {
            ctx,
            report_dir: report_dir.to_path_buf(),
            n,
            at_most: n + 2,
        }
    }

    /// Sets the step bound for `candidates` candidates: both ends, then a
    /// binary search (`ceil(log2 n)` probes).
    pub fn expect_candidates(&mut self, candidates: usize) {
        let probes = usize::BITS - candidates.saturating_sub(1).leading_zeros();
        self.at_most = 2 + probes;
    }

    /// Runs the hunt's cases with the upstream at `commit`.
    pub fn run(
        &mut self,
        role: StepRole,
        index: Option<usize>,
        commit: &CommitInfo,
        hunt: &Hunt<'_>,
    ) -> Result<StepOutcome, BisectError> {
        self.n += 1;
        // a skip or a resumed bisect can take more steps than the bound
        self.at_most = self.at_most.max(self.n);
        crate::progress::emit(|| crate::progress::Event::BisectStep {
            step: self.n,
            at_most: self.at_most,
            role: role.as_str().to_owned(),
            commit: commit.short.clone(),
            subject: commit.subject.clone(),
        });
        let step_dir = self
            .report_dir
            .join(format!("step-{:03}-{}", self.n, commit.short));
        tracing::info!(step = self.n, role = role.as_str(), commit = %commit.short, "bisect step started");
        let mut runs = 0u32;
        let mut first: Option<Reading> = None;
        let mut seconds = 0.0;
        let reading = loop {
            runs += 1;
            let reading = self.once(commit, hunt, &step_dir, runs)?;
            seconds += reading.seconds;
            if let Some(done) = settle(reading, &mut first, runs, hunt.retries) {
                break done;
            }
        };
        self.finish(
            self.n, role, index, commit, step_dir, reading, runs, None, seconds,
        )
    }

    /// The step's record, logged and announced.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn finish(
        &mut self,
        n: u32,
        role: StepRole,
        index: Option<usize>,
        commit: &CommitInfo,
        step_dir: PathBuf,
        reading: Reading,
        runs: u32,
        round: Option<u32>,
        seconds: f64,
    ) -> Result<StepOutcome, BisectError> {
        let record = StepRecord {
            at: crate::env::now(),
            role,
            index,
            commit: commit.id.clone(),
            short: commit.short.clone(),
            subject: commit.subject.clone(),
            verdict: reading.verdict,
            why: crate::redact::redact(&reading.why).into_owned(),
            runs,
            baseline_s: seconds,
            run_dir: step_dir,
            round,
        };
        self.log(&record)?;
        tracing::info!(role = role.as_str(), commit = %commit.short, verdict = record.verdict.as_str(), runs, "bisect step");
        crate::progress::emit(|| crate::progress::Event::BisectStepFinished {
            step: n,
            commit: commit.short.clone(),
            verdict: record.verdict.as_str().to_lowercase(),
        });
        Ok(StepOutcome {
            record,
            signatures: reading.signatures,
            failing: reading.failing,
        })
    }

    /// One baseline run at `commit`.
    fn once(
        &mut self,
        commit: &CommitInfo,
        hunt: &Hunt<'_>,
        step_dir: &Path,
        run: u32,
    ) -> Result<Reading, BisectError> {
        let tree = match self.stage_at(self.n, run, commit)? {
            Ok(t) => t,
            Err(skip) => return Ok(skip),
        };
        let run_id = format!("run-{run}");
        let result = self.ctx.run_cases(CaseRun {
            tree: &tree.dir,
            run_dir: step_dir.join(&run_id),
            run_id,
            cases: Some(hunt.cases.to_vec()),
            preflight: false,
            ran_on: crate::baseline::RanOn::BisectStep {
                bisect: self.bisect_id(),
            },
        });
        let _ = fs_err::remove_dir_all(&tree.work);
        Ok(read(&result?, hunt))
    }

    /// Stages the tree of step `n`'s run `run` at `commit` (in the main
    /// thread: the mirror is not shared between threads); a commit that
    /// cannot be staged is a skip.
    pub(super) fn stage_at(
        &self,
        n: u32,
        run: u32,
        commit: &CommitInfo,
    ) -> Result<Result<StagedTree, Reading>, BisectError> {
        let mut b = self.ctx.backup.clone();
        b.id = format!("{}-{n}-{run}", self.ctx.backup.id);
        let work = self.ctx.work_dir(&b);
        let oid = self.ctx.mirror.resolve_rev(&commit.id)?;
        let staged = match self.ctx.stage(&b, oid) {
            Ok(s) => s,
            Err(e) => {
                let _ = fs_err::remove_dir_all(&work);
                return Ok(Err(Reading::skip(format!(
                    "cannot be staged: {}",
                    crate::redact::error_chain(&e)
                ))));
            }
        };
        if let StageOutcome::Conflicts { files } = &staged.outcome {
            let _ = fs_err::remove_dir_all(&work);
            return Ok(Err(Reading::skip(format!(
                "the wrapper's local modifications conflict at this commit ({} file(s))",
                files.len()
            ))));
        }
        Ok(Ok(StagedTree {
            dir: staged.dir,
            work,
        }))
    }

    /// The bisect's id: its report folder is `bisect-<id>`.
    pub(super) fn bisect_id(&self) -> String {
        let name = self
            .report_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        name.strip_prefix("bisect-").unwrap_or(&name).to_owned()
    }

    /// Appends the step to `debug_log.txt` and `bisect.jsonl`.
    fn log(&self, r: &StepRecord) -> Result<(), BisectError> {
        let werr = |source| BisectError::Write {
            path: self.report_dir.clone(),
            source,
        };
        let mut log = crate::state::append_private_file(&self.report_dir.join("debug_log.txt"))
            .map_err(werr)?;
        let text = format!(
            "=== Bisect Step {} ===\nCommit: {} {} ({}{})\nResult: {}\nWhy: {}\nRuns: {}\n\n",
            r.at.strftime("%Y-%m-%d %H:%M:%S"),
            r.short,
            r.subject,
            r.role.as_str(),
            r.index.map_or(String::new(), |i| format!(" #{i}")),
            r.verdict.as_str(),
            r.why,
            r.runs
        );
        log.write_all(crate::redact::redact(&text).as_bytes())
            .map_err(werr)?;
        let mut jsonl = crate::state::append_private_file(&self.report_dir.join("bisect.jsonl"))
            .map_err(werr)?;
        let line = serde_json::to_string(r).map_err(|e| werr(std::io::Error::other(e)))?;
        writeln!(jsonl, "{}", crate::redact::redact(&line)).map_err(werr)?;
        Ok(())
    }
}
