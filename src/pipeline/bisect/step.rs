//! One bisect step: the wrapper staged with the upstream at one commit (a
//! clone under the state dir, never the live tree), the chosen cases run in
//! it, the verdict from their failure signatures, retries for a flaky
//! failure, and the step logged to `debug_log.txt` and `bisect.jsonl`.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::baseline::{self, RunOptions};
use crate::config::{Config, UpstreamConfig};
use crate::state::StateDir;
use crate::update::{Backup, StageOutcome, UpdatePaths};
use crate::upstream::{CommitInfo, Mirror};

use super::search::StepVerdict;
use super::{BisectError, StepRecord};

pub struct Runner<'a> {
    cfg: &'a Config,
    up: &'a UpstreamConfig,
    mirror: &'a Mirror,
    backup: &'a Backup,
    report_dir: PathBuf,
    n: u32,
}

impl<'a> Runner<'a> {
    pub fn new(
        cfg: &'a Config,
        up: &'a UpstreamConfig,
        mirror: &'a Mirror,
        backup: &'a Backup,
        report_dir: &Path,
    ) -> Runner<'a> {
        // continue the numbering of a resumed bisect
        let n = fs_err::read_to_string(report_dir.join("bisect.jsonl"))
            .map(|t| t.lines().count() as u32)
            .unwrap_or(0);
        Runner {
            cfg,
            up,
            mirror,
            backup,
            report_dir: report_dir.to_path_buf(),
            n,
        }
    }

    /// Runs `cases` with the upstream at `commit`. Returns the step, the
    /// signatures of its failures, and the names of the failing cases.
    /// `hunted` empty (the bad end) makes any failure bad.
    pub fn run(
        &mut self,
        role: &str,
        index: Option<usize>,
        commit: &CommitInfo,
        cases: &[String],
        hunted: &[String],
        retries: u32,
    ) -> Result<(StepRecord, Vec<String>, Vec<String>), BisectError> {
        self.n += 1;
        let step_dir = self
            .report_dir
            .join(format!("step-{:03}-{}", self.n, commit.short));
        let mut runs = 0u32;
        let mut first: Option<(StepVerdict, String, Vec<String>, Vec<String>)> = None;
        let mut verdict;
        loop {
            runs += 1;
            let (v, why, sigs, failing) = self.once(commit, cases, hunted, &step_dir, runs)?;
            verdict = (v, why, sigs, failing);
            if verdict.0 == StepVerdict::Good {
                if let Some((fv, fwhy, _, _)) = &first {
                    verdict.1 = format!(
                        "passed on run {runs} after failing on run 1 ({} on run 1: {fwhy}): a flaky failure",
                        fv.as_str()
                    );
                }
                break;
            }
            if first.is_none() {
                first = Some(verdict.clone());
            }
            if runs > retries || crate::process::interrupted() {
                // every run failed: the first run's reading stands
                verdict = first.clone().expect("set above");
                break;
            }
        }
        let record = StepRecord {
            at: crate::env::now(),
            role: role.to_owned(),
            index,
            commit: commit.id.clone(),
            short: commit.short.clone(),
            subject: commit.subject.clone(),
            verdict: verdict.0,
            why: crate::redact::redact(&verdict.1).into_owned(),
            runs,
            run_dir: step_dir,
        };
        self.log(&record)?;
        tracing::info!(role, commit = %commit.short, verdict = record.verdict.as_str(), runs, "bisect step");
        Ok((record, verdict.2, verdict.3))
    }

    /// One baseline run at `commit`.
    fn once(
        &mut self,
        commit: &CommitInfo,
        cases: &[String],
        hunted: &[String],
        step_dir: &Path,
        run: u32,
    ) -> Result<(StepVerdict, String, Vec<String>, Vec<String>), BisectError> {
        let mut b = self.backup.clone();
        b.id = format!("{}-{}-{run}", self.backup.id, self.n);
        let state = StateDir::new(&self.cfg.project.state_dir);
        let work = UpdatePaths::new(&state).run_dir(&b.id);
        let oid = self.mirror.resolve_rev(&commit.id)?;
        let staged = match crate::update::stage(self.cfg, self.up, self.mirror, &b, oid) {
            Ok(s) => s,
            Err(e) => {
                let _ = fs_err::remove_dir_all(&work);
                return Ok((
                    StepVerdict::Skip,
                    format!("cannot be staged: {}", crate::redact::error_chain(&e)),
                    Vec::new(),
                    Vec::new(),
                ));
            }
        };
        if let StageOutcome::Conflicts { files } = &staged.outcome {
            let _ = fs_err::remove_dir_all(&work);
            return Ok((
                StepVerdict::Skip,
                format!(
                    "the wrapper's local modifications conflict at this commit ({} file(s))",
                    files.len()
                ),
                Vec::new(),
                Vec::new(),
            ));
        }
        let run_id = format!("run-{run}");
        let result = baseline::run_suite(
            self.cfg,
            &staged.dir,
            &RunOptions {
                run_dir: step_dir.join(&run_id),
                run_id,
                cases: Some(cases.to_vec()),
                cancel: None,
                preflight: false,
                ran_on: baseline::RanOn::BisectStep {
                    bisect: self.bisect_id(),
                },
            },
        );
        let _ = fs_err::remove_dir_all(&work);
        let run = result?;
        if run.passed() {
            return Ok((
                StepVerdict::Good,
                "the cases pass".into(),
                Vec::new(),
                Vec::new(),
            ));
        }
        let failures: Vec<crate::fix::Failure> = run
            .failing()
            .into_iter()
            .map(crate::fix::classify)
            .collect();
        let sigs: Vec<String> = failures.iter().map(|f| f.signature.clone()).collect();
        let failing: Vec<String> = failures.iter().map(|f| f.case.clone()).collect();
        let first = failures
            .first()
            .map(|f| format!("{}: {}", f.case, f.message))
            .unwrap_or_default();
        if hunted.is_empty() || sigs.iter().any(|s| hunted.contains(s)) {
            Ok((StepVerdict::Bad, first, sigs, failing))
        } else {
            Ok((
                StepVerdict::Skip,
                format!("a different failure than the one hunted: {first}"),
                sigs,
                failing,
            ))
        }
    }

    /// The bisect's id: its report folder is `bisect-<id>`.
    fn bisect_id(&self) -> String {
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
            r.role,
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
