//! One round of a parallel bisect (`update.bisect_parallel` > 1): K
//! candidates, each one step, their trees staged one after the other (the
//! git mirror is not shared between threads) and their suites run at once,
//! each submitting its own Slurm jobs; flaky retries as in a serial step.

use std::path::PathBuf;

use super::BisectError;
use super::model::StepRole;
use super::step::{Hunt, Reading, Runner, StagedTree, StepOutcome, read, settle};
use crate::upstream::CommitInfo;

impl Runner<'_> {
    /// One round of a parallel bisect: the candidates `probes` (index and
    /// commit), each one step, their trees staged one after the other and
    /// their suites run at once (each submits its own jobs); a flaky failure
    /// is run again as in [`Runner::run`], the retries of a round together.
    pub fn run_round(
        &mut self,
        round: u32,
        probes: &[(usize, CommitInfo)],
        hunt: &Hunt<'_>,
    ) -> Result<Vec<StepOutcome>, BisectError> {
        struct Probe<'p> {
            n: u32,
            index: usize,
            commit: &'p CommitInfo,
            step_dir: PathBuf,
            runs: u32,
            /// Baseline wall time of its runs (GPU time).
            seconds: f64,
            first: Option<Reading>,
            done: Option<Reading>,
        }
        let mut all: Vec<Probe> = Vec::new();
        for (index, commit) in probes {
            self.n += 1;
            self.at_most = self.at_most.max(self.n);
            crate::progress::emit(|| crate::progress::Event::BisectStep {
                step: self.n,
                at_most: self.at_most,
                role: StepRole::Step.as_str().to_owned(),
                commit: commit.short.clone(),
                subject: commit.subject.clone(),
            });
            tracing::info!(step = self.n, round, commit = %commit.short, "bisect step started");
            all.push(Probe {
                n: self.n,
                index: *index,
                commit,
                step_dir: self
                    .report_dir
                    .join(format!("step-{:03}-{}", self.n, commit.short)),
                runs: 0,
                seconds: 0.0,
                first: None,
                done: None,
            });
        }
        let bisect = self.bisect_id();
        while all.iter().any(|p| p.done.is_none()) {
            // stage every open probe's tree; a tree that cannot be staged is
            // that run's reading
            let mut trees: Vec<(usize, StagedTree)> = Vec::new();
            let mut readings: Vec<(usize, Reading)> = Vec::new();
            for (i, p) in all.iter_mut().enumerate().filter(|(_, p)| p.done.is_none()) {
                p.runs += 1;
                match self.stage_at(p.n, p.runs, p.commit)? {
                    Ok(t) => trees.push((i, t)),
                    Err(skip) => readings.push((i, skip)),
                }
            }
            let cfg = self.ctx.cfg;
            let ran: Vec<(
                usize,
                Result<crate::baseline::BaselineRun, crate::baseline::BaselineError>,
            )> = std::thread::scope(|scope| {
                let handles: Vec<_> = trees
                    .iter()
                    .map(|(i, t)| {
                        let run_id = format!("run-{}", all[*i].runs);
                        let opts = crate::baseline::RunOptions {
                            run_dir: all[*i].step_dir.join(&run_id),
                            run_id,
                            cases: Some(hunt.cases.to_vec()),
                            cancel: None,
                            preflight: false,
                            ran_on: crate::baseline::RanOn::BisectStep {
                                bisect: bisect.clone(),
                            },
                        };
                        let dir = t.dir.clone();
                        (
                            *i,
                            scope.spawn(move || crate::baseline::run_suite(cfg, &dir, &opts)),
                        )
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|(i, h)| {
                        let r = h.join().unwrap_or_else(|_| {
                            Err(crate::baseline::BaselineError::Slurm {
                                message: "a bisect step's run panicked".into(),
                            })
                        });
                        (i, r)
                    })
                    .collect()
            });
            for (_, t) in &trees {
                let _ = fs_err::remove_dir_all(&t.work);
            }
            for (i, r) in ran {
                readings.push((i, read(&r?, hunt)));
            }
            for (i, reading) in readings {
                let p = &mut all[i];
                p.seconds += reading.seconds;
                p.done = settle(reading, &mut p.first, p.runs, hunt.retries);
            }
        }
        let mut out = Vec::new();
        for p in all {
            let reading = p.done.expect("every probe is settled");
            out.push(self.finish(
                p.n,
                StepRole::Step,
                Some(p.index),
                p.commit,
                p.step_dir,
                reading,
                p.runs,
                Some(round),
                p.seconds,
            )?);
        }
        Ok(out)
    }
}
