//! Owns `tether bisect`: the search for the upstream commit that broke the
//! baseline. Both ends are confirmed first (the good end passes, the bad end
//! fails); then a binary search over the upstream's first-parent history,
//! each step the chosen cases in a staged tree (never the live one), with
//! steps that fail differently, or cannot be staged, skipped. Every step is
//! journaled (`<state>/bisect/journal.json`), so an interrupted bisect
//! resumes, and logged like a fix attempt (`debug_log.txt`, `bisect.jsonl`).

pub mod search;

mod step;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use git2::Oid;
use serde::{Deserialize, Serialize};

pub use search::{Next, StepVerdict};

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

#[derive(Debug, Clone, Default)]
pub struct BisectOptions {
    /// The good end (default: the upstream's last good commit from the
    /// service state, else the current commit).
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
    /// `good-end`, `bad-end`, or `step`.
    pub role: String,
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
    /// Where the step's baseline runs are.
    pub run_dir: PathBuf,
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
    pub status: String,
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
    let mut runner = step::Runner::new(cfg, up, &mirror, &backup, &journal.report_dir);
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
            cfg,
            up,
            &mirror,
            &state,
            journal,
            good.clone(),
            bad.clone(),
            result,
            resumed,
        )
    };
    if !journal.steps.iter().any(|s| s.role == "bad-end") {
        let rec = runner.run(
            "bad-end",
            None,
            &bad,
            &journal.cases,
            &journal.signatures,
            cfg.update.bisect_retries,
        )?;
        if journal.signatures.is_empty() {
            journal.signatures = rec.1.clone();
        }
        if journal.cases.len() > rec.2.len() && opts.cases.is_none() && !rec.2.is_empty() {
            // default cases: those that fail at the bad end
            journal.cases = rec.2.clone();
        }
        journal.steps.push(rec.0);
        save(&journal)?;
    }
    if crate::process::interrupted() {
        return Err(BisectError::Interrupted);
    }
    if let Some(s) = journal.steps.iter().find(|s| s.role == "bad-end")
        && s.verdict == StepVerdict::Good
    {
        return done(BisectResult::BadEndPasses, &journal);
    }
    if !journal.steps.iter().any(|s| s.role == "good-end") {
        let rec = runner.run(
            "good-end",
            None,
            &good,
            &journal.cases,
            &journal.signatures,
            cfg.update.bisect_retries,
        )?;
        journal.steps.push(rec.0);
        save(&journal)?;
    }
    if crate::process::interrupted() {
        return Err(BisectError::Interrupted);
    }
    if let Some(s) = journal.steps.iter().find(|s| s.role == "good-end")
        && s.verdict != StepVerdict::Good
    {
        let why = s.why.clone();
        return done(BisectResult::GoodEndFails { why }, &journal);
    }

    let n = journal.candidates.len();
    loop {
        let verdicts: BTreeMap<usize, StepVerdict> = journal
            .steps
            .iter()
            .filter_map(|s| s.index.map(|i| (i, s.verdict)))
            .collect();
        match search::next(n, &verdicts) {
            Next::Probe(i) => {
                if crate::process::interrupted() {
                    return Err(BisectError::Interrupted);
                }
                let oid = mirror.resolve_rev(&journal.candidates[i])?;
                let info = mirror.commit_info(oid)?;
                let rec = runner.run(
                    "step",
                    Some(i),
                    &info,
                    &journal.cases,
                    &journal.signatures,
                    cfg.update.bisect_retries,
                )?;
                journal.steps.push(rec.0);
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
            status: format!("{:?}", f.status).to_lowercase(),
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

#[allow(clippy::too_many_arguments)]
fn finish(
    cfg: &Config,
    up: &UpstreamConfig,
    _mirror: &Mirror,
    state: &StateDir,
    journal: &BisectJournal,
    good: CommitInfo,
    bad: CommitInfo,
    result: BisectResult,
    resumed: bool,
) -> Result<BisectReport, BisectError> {
    let report = BisectReport {
        id: journal.id.clone(),
        upstream: up.name.clone(),
        good,
        bad,
        candidates: journal.candidates.len(),
        cases: journal.cases.clone(),
        signatures: journal.signatures.clone(),
        result,
        steps: journal.steps.clone(),
        baseline_runs: journal.steps.iter().map(|s| s.runs).sum(),
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
    let _ = cfg;
    Ok(report)
}
