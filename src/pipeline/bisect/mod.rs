//! Owns `tether bisect`: the search for the upstream commit that broke the
//! baseline. Both ends are confirmed first (the good end passes, the bad end
//! fails); then a binary search over the upstream's first-parent history,
//! each step the chosen cases in a staged tree (never the live one), with
//! steps that fail differently, or cannot be staged, skipped; on the slurm
//! executor with `update.bisect_parallel = K`, K candidates a round, their
//! suites run at once (`search::next_round`). Every step is
//! journaled (`<state>/bisect/journal.json`), so an interrupted bisect
//! resumes, and logged like a fix attempt (`debug_log.txt`, `bisect.jsonl`).

mod model;
mod round;
pub mod search;
mod step;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use git2::Oid;

pub use model::{
    BisectJournal, BisectOptions, BisectReport, BisectResult, ChangedFile, StepRecord, StepRole,
};
pub use search::{Next, StepVerdict};

use super::staged_run::StagedRun;
use crate::config::{Config, UpstreamConfig};
use crate::state::StateDir;
use crate::state::{LockError, StateLock};
use crate::update::{Backup, UpdateError};
use crate::upstream::{self, CommitInfo, Mirror, UpstreamError};

#[derive(Debug, thiserror::Error)]
pub enum BisectError {
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
    #[error(transparent)]
    Update(#[from] UpdateError),
    #[error(transparent)]
    Baseline(#[from] crate::baseline::BaselineError),
    #[error(transparent)]
    Analysis(#[from] crate::analysis::AnalysisError),
    #[error(
        "`{good}` is not on the first-parent history of `{bad}`: a bisect needs the good end to be an ancestor of the bad end"
    )]
    NotAncestor { good: String, bad: String },
    #[error("the good and the bad end are the same commit `{0}`: nothing to search")]
    Empty(String),
    #[error("no baseline case is configured; bisect runs the baseline at each step")]
    NoCases,
    #[error("cannot write `{}`", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Report(#[from] crate::document::DocumentError),
    #[error("the bisect was interrupted; run `tether bisect` again to resume it")]
    Interrupted,
}

/// The cases a step runs and the failures it hunts, from the journal.
fn hunt(j: &BisectJournal, retries: u32) -> step::Hunt<'_> {
    step::Hunt {
        cases: &j.cases,
        signatures: &j.signatures,
        retries,
    }
}

fn journal_path(state: &StateDir) -> PathBuf {
    state.root().join("bisect").join("journal.json")
}

/// `tether bisect` for one upstream: takes the state lock.
pub fn bisect(
    cfg: &Config,
    up: &UpstreamConfig,
    opts: &BisectOptions,
) -> Result<BisectReport, BisectError> {
    let state = StateDir::new(&cfg.project.state_dir);
    let _lock = StateLock::acquire(&state, "bisect")?;
    bisect_locked(cfg, up, opts)
}

/// The bisect itself, for a caller that holds the state lock (an update).
pub fn bisect_locked(
    cfg: &Config,
    up: &UpstreamConfig,
    opts: &BisectOptions,
) -> Result<BisectReport, BisectError> {
    bisect_with(cfg, up, opts, &[])
}

/// The bisect of `up` with other upstreams checked out at fixed commits in
/// every staged tree (a group's culprit member: the other members at their
/// current commits, or its partners at their targets).
pub fn bisect_with(
    cfg: &Config,
    up: &UpstreamConfig,
    opts: &BisectOptions,
    fixed: &[crate::update::StageMember<'_>],
) -> Result<BisectReport, BisectError> {
    if cfg.baseline.cases.is_empty() {
        return Err(BisectError::NoCases);
    }
    let state = StateDir::new(&cfg.project.state_dir);
    let jpath = journal_path(&state);
    if opts.restart {
        let _ = fs_err::remove_file(&jpath);
    }
    let mirror = Mirror::open(&state, up, opts.fetch)?;
    let saved: Option<BisectJournal> = crate::state::read_json(&jpath)
        .ok()
        .flatten()
        .filter(|j: &BisectJournal| j.upstream == up.name);
    let resumed = saved.is_some();
    let mut journal = match saved {
        Some(j) => {
            tracing::info!(id = %j.id, steps = j.steps.len(), "resuming an interrupted bisect");
            j
        }
        None => start(cfg, up, &mirror, &state, opts)?,
    };
    let backup = Backup::take(cfg, up, &mirror, &journal.id)?;
    let ctx = StagedRun {
        cfg,
        up,
        mirror: &mirror,
        backup: &backup,
        peers: &[],
        fixed,
    };
    let mut runner = step::Runner::new(ctx, &journal.report_dir);
    runner.expect_candidates(journal.candidates.len());
    let retries = cfg.update.bisect_retries;
    let save = |j: &BisectJournal| -> Result<(), BisectError> {
        crate::state::write_json(&jpath, j).map_err(|e| BisectError::Write {
            path: jpath.clone(),
            source: std::io::Error::other(e.to_string()),
        })
    };
    save(&journal)?;

    // both ends first
    let good_oid = mirror.resolve_rev(&journal.good)?;
    let bad_oid = mirror.resolve_rev(&journal.bad)?;
    let good = mirror.commit_info(good_oid)?;
    let bad = mirror.commit_info(bad_oid)?;
    let done = |result: BisectResult, journal: &BisectJournal| {
        finish(
            &state,
            journal,
            Ends {
                good: good.clone(),
                bad: bad.clone(),
                resumed,
            },
            result,
        )
    };
    if !journal.steps.iter().any(|s| s.role == StepRole::BadEnd) {
        let step = runner.run(StepRole::BadEnd, None, &bad, &hunt(&journal, retries))?;
        if journal.signatures.is_empty() {
            journal.signatures = step.signatures;
        }
        if journal.cases.len() > step.failing.len()
            && opts.cases.is_none()
            && !step.failing.is_empty()
        {
            // default cases: those that fail at the bad end
            journal.cases = step.failing;
        }
        journal.steps.push(step.record);
        save(&journal)?;
    }
    if crate::process::interrupted() {
        return Err(BisectError::Interrupted);
    }
    if let Some(s) = journal.steps.iter().find(|s| s.role == StepRole::BadEnd)
        && s.verdict == StepVerdict::Good
    {
        return done(BisectResult::BadEndPasses, &journal);
    }
    if !journal.steps.iter().any(|s| s.role == StepRole::GoodEnd) {
        let step = runner.run(StepRole::GoodEnd, None, &good, &hunt(&journal, retries))?;
        journal.steps.push(step.record);
        save(&journal)?;
    }
    if crate::process::interrupted() {
        return Err(BisectError::Interrupted);
    }
    if let Some(s) = journal.steps.iter().find(|s| s.role == StepRole::GoodEnd)
        && s.verdict != StepVerdict::Good
    {
        let why = s.why.clone();
        return done(BisectResult::GoodEndFails { why }, &journal);
    }

    let n = journal.candidates.len();
    let k = parallel_probes(cfg, &journal.cases);
    loop {
        let verdicts: BTreeMap<usize, StepVerdict> = journal
            .steps
            .iter()
            .filter_map(|s| s.index.map(|i| (i, s.verdict)))
            .collect();
        let next = match search::next_round(n, &verdicts, k) {
            search::Round::Probe(picks) if picks.len() > 1 => {
                if crate::process::interrupted() {
                    return Err(BisectError::Interrupted);
                }
                let probes = picks
                    .iter()
                    .map(|&i| {
                        Ok((
                            i,
                            mirror.commit_info(mirror.resolve_rev(&journal.candidates[i])?)?,
                        ))
                    })
                    .collect::<Result<Vec<_>, BisectError>>()?;
                let round = journal
                    .steps
                    .iter()
                    .filter_map(|s| s.round)
                    .max()
                    .unwrap_or(0)
                    + 1;
                for step in runner.run_round(round, &probes, &hunt(&journal, retries))? {
                    journal.steps.push(step.record);
                }
                save(&journal)?;
                continue;
            }
            search::Round::Probe(picks) => Next::Probe(picks[0]),
            search::Round::Done(done) => done,
        };
        match next {
            Next::Probe(i) => {
                if crate::process::interrupted() {
                    return Err(BisectError::Interrupted);
                }
                let oid = mirror.resolve_rev(&journal.candidates[i])?;
                let info = mirror.commit_info(oid)?;
                let step = runner.run(StepRole::Step, Some(i), &info, &hunt(&journal, retries))?;
                journal.steps.push(step.record);
                save(&journal)?;
            }
            Next::Found(i) => {
                let commit = mirror.commit_info(mirror.resolve_rev(&journal.candidates[i])?)?;
                let last_good = if i == 0 {
                    good.clone()
                } else {
                    mirror.commit_info(mirror.resolve_rev(&journal.candidates[i - 1])?)?
                };
                let (files, findings) = culprit_files(cfg, up, &mirror, &last_good, &commit)?;
                return done(
                    BisectResult::FirstBad {
                        commit,
                        last_good,
                        files,
                        findings,
                    },
                    &journal,
                );
            }
            Next::Undecidable(idx) => {
                let candidates = idx
                    .iter()
                    .map(|&i| mirror.commit_info(mirror.resolve_rev(&journal.candidates[i])?))
                    .collect::<Result<Vec<_>, _>>()?;
                let first = idx.first().copied().unwrap_or(0);
                let last_good = if first == 0 {
                    good.clone()
                } else {
                    mirror.commit_info(mirror.resolve_rev(&journal.candidates[first - 1])?)?
                };
                return done(
                    BisectResult::Undecidable {
                        candidates,
                        last_good,
                    },
                    &journal,
                );
            }
        }
    }
}

/// Candidates a round tests at once: `update.bisect_parallel` when every
/// hunted case runs on the slurm executor (each step's jobs go to the
/// cluster), else 1 (local cases share this machine's GPU).
fn parallel_probes(cfg: &Config, cases: &[String]) -> usize {
    let k = cfg.update.bisect_parallel.max(1) as usize;
    if k == 1 {
        return 1;
    }
    let all_slurm = cfg
        .baseline
        .cases
        .iter()
        .filter(|c| cases.contains(&c.name))
        .all(|c| c.executor.unwrap_or(cfg.baseline.executor) == crate::config::Executor::Slurm);
    if !all_slurm {
        tracing::warn!(
            bisect_parallel = k,
            "update.bisect_parallel needs every bisected case on the slurm executor; testing one commit at a time"
        );
        return 1;
    }
    k
}

/// A new journal: the ends resolved, the candidates listed.
fn start(
    cfg: &Config,
    up: &UpstreamConfig,
    mirror: &Mirror,
    state: &StateDir,
    opts: &BisectOptions,
) -> Result<BisectJournal, BisectError> {
    let bad = match &opts.bad {
        Some(rev) => mirror.resolve_rev(rev)?,
        None => upstream::resolve_target(mirror, &up.track)?,
    };
    let good = match &opts.good {
        Some(rev) => mirror.resolve_rev(rev)?,
        None => match upstream::last_good::load(state, &up.name) {
            Some(g) => mirror.resolve_rev(&g)?,
            None => mirror.resolve_rev(&upstream::current_commit(&cfg.project, up, mirror)?.id)?,
        },
    };
    if good == bad {
        return Err(BisectError::Empty(good.to_string()));
    }
    let candidates =
        first_parent_between(mirror.repo(), good, bad).ok_or_else(|| BisectError::NotAncestor {
            good: good.to_string(),
            bad: bad.to_string(),
        })?;
    let cases = match &opts.cases {
        Some(c) => {
            for name in c {
                if !cfg.baseline.cases.iter().any(|k| &k.name == name) {
                    return Err(crate::baseline::BaselineError::UnknownCase {
                        name: name.clone(),
                        known: crate::text::cut_list(
                            &cfg.baseline
                                .cases
                                .iter()
                                .map(|k| k.name.as_str())
                                .collect::<Vec<_>>(),
                            crate::text::MESSAGE_ITEMS,
                        ),
                    }
                    .into());
                }
            }
            c.clone()
        }
        None => cfg.baseline.cases.iter().map(|c| c.name.clone()).collect(),
    };
    let id = crate::update::new_id(state, &format!("bisect-{}", up.name));
    let report_dir = cfg.project.outputs_dir.join(format!("bisect-{id}"));
    crate::state::create_private_dir(&report_dir).map_err(|source| BisectError::Write {
        path: report_dir.clone(),
        source,
    })?;
    Ok(BisectJournal {
        id,
        upstream: up.name.clone(),
        good: good.to_string(),
        bad: bad.to_string(),
        candidates: candidates.iter().map(Oid::to_string).collect(),
        cases,
        signatures: Vec::new(),
        steps: Vec::new(),
        started: crate::env::now(),
        report_dir,
    })
}

/// The first-parent commits after `good` up to `bad`, oldest first; `None`
/// when `good` is not on `bad`'s first-parent line.
fn first_parent_between(repo: &git2::Repository, good: Oid, bad: Oid) -> Option<Vec<Oid>> {
    let mut out = Vec::new();
    let mut at = repo.find_commit(bad).ok()?;
    loop {
        if at.id() == good {
            out.reverse();
            return Some(out);
        }
        out.push(at.id());
        at = at.parent(0).ok()?;
    }
}

/// The files `commit` changed (against `parent`) and the integration points
/// of the wrapper it breaks or puts at risk.
fn culprit_files(
    cfg: &Config,
    up: &UpstreamConfig,
    mirror: &Mirror,
    parent: &CommitInfo,
    commit: &CommitInfo,
) -> Result<(Vec<ChangedFile>, Vec<String>), BisectError> {
    let from = mirror.resolve_rev(&parent.id)?;
    let to = mirror.resolve_rev(&commit.id)?;
    let mut notes = Vec::new();
    let a = crate::analysis::run::analyze_range(cfg, up, mirror, from, to, &mut notes)?;
    let touched: Vec<&crate::analysis::python::PointFinding> = a
        .integration
        .findings
        .iter()
        .filter(|f| f.severity != crate::analysis::python::PointSeverity::Info)
        .collect();
    let modules: BTreeSet<String> = touched
        .iter()
        .flat_map(|f| f.old.iter().chain(f.new.iter()))
        .map(|d| d.module.replace('.', "/"))
        .collect();
    let files = a
        .diff
        .files
        .iter()
        .map(|f| ChangedFile {
            path: f.path.clone(),
            status: f.status,
            key_file: up.key_files_set.is_match(&f.path),
            integration: modules
                .iter()
                .any(|m| f.path == format!("{m}.py") || f.path.starts_with(&format!("{m}/"))),
        })
        .collect();
    let findings = touched
        .iter()
        .map(|f| format!("{}:{}: {}", f.point.file, f.point.line, f.message))
        .collect();
    Ok((files, findings))
}

/// The ends of a bisect, and whether this run resumed it.
struct Ends {
    good: CommitInfo,
    bad: CommitInfo,
    resumed: bool,
}

/// The report, written; the journal moved into the history.
fn finish(
    state: &StateDir,
    journal: &BisectJournal,
    ends: Ends,
    result: BisectResult,
) -> Result<BisectReport, BisectError> {
    let Ends { good, bad, resumed } = ends;
    let report = BisectReport {
        id: journal.id.clone(),
        upstream: journal.upstream.clone(),
        good,
        bad,
        candidates: journal.candidates.len(),
        cases: journal.cases.clone(),
        signatures: journal.signatures.clone(),
        result,
        steps: journal.steps.clone(),
        baseline_runs: journal.steps.iter().map(|s| s.runs).sum(),
        baseline_s: journal.steps.iter().map(|s| s.baseline_s).sum(),
        resumed,
        report_dir: journal.report_dir.clone(),
    };
    crate::document::write(&journal.report_dir, &report)?;
    // the journal goes into the history once the search is over
    let history = state
        .root()
        .join("bisect")
        .join("history")
        .join(format!("{}.json", journal.id));
    let _ = crate::state::write_json(&history, journal);
    let _ = fs_err::remove_file(journal_path(state));
    let _ = fs_err::remove_dir_all(crate::update::UpdatePaths::new(state).run_dir(&journal.id));
    Ok(report)
}
