//! Owns `check`: fetch an upstream, find the wrapper's current commit and the
//! track target, list the commits in between with their soak state, and say
//! whether the upstream's history was rewritten. Returns a serialisable
//! report; rendering lives in `report::check`.

use std::collections::BTreeSet;

use git2::{Oid, Sort};
use jiff::Timestamp;
use serde::Serialize;

use super::commit::CommitInfo;
use super::error::{UpstreamError, git_err};
use super::layout::{CurrentCommit, LocalMods, current_commit};
use super::mirror::Mirror;
use super::soak::{SeenStore, SoakState};
use super::track::resolve_target_ref;
use crate::config::{Config, Layout, UpstreamConfig};
use crate::state::StateDir;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckOptions {
    /// Fetch the upstream first (otherwise use the mirror as it is).
    pub fetch: bool,
}

impl Default for CheckOptions {
    fn default() -> Self {
        Self { fetch: true }
    }
}

/// How the wrapper's current commit relates to the target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum HistoryState {
    /// The current commit is the target or one of its ancestors.
    Linear,
    /// The target is an ancestor of the current commit: the wrapper is ahead.
    Ahead,
    /// Neither is an ancestor of the other: the upstream's history was
    /// rewritten (force-push) or the wrapper sits on another line.
    Rewritten {
        merge_base: Option<CommitInfo>,
        /// Commits in the current commit's history that the target lacks.
        ahead: usize,
    },
    /// The current commit is not in the upstream at all (force-pushed away,
    /// or from a fork).
    CurrentMissing,
}

impl HistoryState {
    /// Whether this needs a person: the history was rewritten or lost.
    pub fn is_rewritten(&self) -> bool {
        matches!(
            self,
            HistoryState::Rewritten { .. } | HistoryState::CurrentMissing
        )
    }
}

/// A commit on the way from the current commit to the target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PendingCommit {
    #[serde(flatten)]
    pub commit: CommitInfo,
    /// When tether first saw it.
    pub first_seen: Timestamp,
    pub soak: SoakState,
}

/// Everything `tether check` knows about one upstream.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    pub name: String,
    /// Redacted.
    pub url: String,
    pub layout: Layout,
    /// The upstream's path in the wrapper.
    pub path: String,
    /// e.g. `branch:main`.
    pub track: String,
    /// e.g. `2days`; `0s` for none.
    pub soak: String,
    pub soak_seconds: u64,
    /// The `now` soak was measured at.
    pub checked_at: Timestamp,
    /// Whether the upstream was fetched for this check.
    pub fetched: bool,
    pub current: CurrentCommit,
    pub target: CommitInfo,
    /// The ref the target came from: `refs/heads/main`, `refs/tags/v1.2`, or
    /// the pinned hash.
    pub target_ref: String,
    pub up_to_date: bool,
    /// Commits in the target's history that the current commit lacks.
    pub behind: usize,
    /// Commits in the current commit's history that the target lacks.
    pub ahead: usize,
    /// The `behind` commits, newest first.
    pub commits: Vec<PendingCommit>,
    /// The newest commit on the target's first-parent line that has soaked,
    /// along with every pending commit it brings.
    pub adoptable: Option<CommitInfo>,
    pub history: HistoryState,
    /// Things that need attention.
    pub warnings: Vec<String>,
    pub notes: Vec<String>,
    /// Vendored layout: how the copy differs from its recorded commit.
    pub local_modifications: Option<LocalMods>,
    /// Held back at its newest good commit after an unfixable update.
    pub held_back: Option<super::HeldBack>,
}

/// Checks one upstream: fetch (unless told not to), current, target, the
/// commits in between, soak and history state.
pub fn check(
    cfg: &Config,
    up: &UpstreamConfig,
    opts: &CheckOptions,
) -> Result<CheckReport, UpstreamError> {
    let state = StateDir::new(&cfg.project.state_dir);
    let mirror = Mirror::open(&state, up, opts.fetch)?;
    let now = crate::env::now();
    let repo = mirror.repo();
    let name = up.name.as_str();

    let mut current = current_commit(&cfg.project, up, &mirror)?;
    let local_modifications = current.local_modifications.take();
    let mut warnings = std::mem::take(&mut current.warnings);
    let mut notes = std::mem::take(&mut current.notes);
    if !opts.fetch {
        notes.push("not fetched (--no-fetch): the mirror is as of its last fetch".into());
    }

    let target = resolve_target_ref(&mirror, &up.track)?;
    let target_info = mirror.commit_info(target.id)?;
    let cur = Oid::from_str(&current.id).map_err(git_err(name, "reading the current commit"))?;
    let in_mirror = mirror.has_commit(cur);
    if in_mirror {
        current.commit = Some(mirror.commit_info(cur)?);
    }

    let graph = git_err(name, "comparing the current commit with the target");
    let history = if !in_mirror {
        HistoryState::CurrentMissing
    } else if cur == target.id || repo.graph_descendant_of(target.id, cur).map_err(&graph)? {
        HistoryState::Linear
    } else if repo.graph_descendant_of(cur, target.id).map_err(&graph)? {
        HistoryState::Ahead
    } else {
        let (ahead, _) = repo.graph_ahead_behind(cur, target.id).map_err(&graph)?;
        let merge_base = match repo.merge_base(cur, target.id) {
            Ok(b) => Some(mirror.commit_info(b)?),
            Err(_) => None,
        };
        HistoryState::Rewritten { merge_base, ahead }
    };
    match &history {
        HistoryState::Rewritten { merge_base, ahead } => warnings.push(format!(
            "history rewritten: current {} is not an ancestor of target {} ({ahead} commit{} only in current; {})",
            short(&current.id),
            target_info.short,
            plural(*ahead),
            match merge_base {
                Some(b) => format!("they last shared {}", b.short),
                None => "they share no history".into(),
            }
        )),
        HistoryState::CurrentMissing => warnings.push(format!(
            "history rewritten: current {} is not in the upstream's branches or tags (force-pushed away, or from a fork)",
            short(&current.id)
        )),
        HistoryState::Ahead => notes.push(format!(
            "current {} is ahead of target {}",
            short(&current.id),
            target_info.short
        )),
        HistoryState::Linear => {}
    }

    let (ahead, pending_ids) = if in_mirror {
        let (ahead, _) = repo.graph_ahead_behind(cur, target.id).map_err(&graph)?;
        (ahead, walk(repo, target.id, &[cur]).map_err(&graph)?)
    } else {
        (0, Vec::new())
    };

    let mut seen = SeenStore::load(&state, name)?;
    seen.first_seen(&current.id, now);
    let mut commits = Vec::with_capacity(pending_ids.len());
    for id in &pending_ids {
        let info = mirror.commit_info(*id)?;
        let first_seen = seen.first_seen(&info.id, now);
        let soak = SoakState::at(info.time, first_seen, now, up.soak);
        commits.push(PendingCommit {
            commit: info,
            first_seen,
            soak,
        });
    }
    seen.retain_and_save(
        commits
            .iter()
            .map(|c| c.commit.id.as_str())
            .chain([current.id.as_str()]),
    )?;

    let adoptable = if history == HistoryState::Linear && !commits.is_empty() {
        adoptable(repo, cur, target.id, &commits)
            .map_err(git_err(name, "finding the adoptable commit"))?
            .map(|id| mirror.commit_info(id))
            .transpose()?
    } else {
        None
    };

    let held_back = super::held::load(&state, name);
    if let Some(h) = &held_back {
        warnings.push(format!(
            "held back at {} since {}: the first bad commit is {} ({}); a newer target is tried when the upstream moves",
            h.at.short,
            h.since.strftime("%Y-%m-%d %H:%M"),
            h.first_bad.short,
            h.first_bad.subject
        ));
    }
    Ok(CheckReport {
        name: up.name.clone(),
        url: up.url.clone(),
        layout: up.layout,
        path: up.path.to_string_lossy().into_owned(),
        track: up.track.to_string(),
        soak: crate::duration::format(up.soak).to_string(),
        soak_seconds: up.soak.as_secs(),
        checked_at: now,
        fetched: opts.fetch,
        up_to_date: commits.is_empty() && history == HistoryState::Linear,
        behind: commits.len(),
        ahead,
        current,
        target: target_info,
        target_ref: target.reference,
        commits,
        adoptable,
        history,
        warnings,
        notes,
        local_modifications,
        held_back,
    })
}

/// Commits reachable from `from` but not from `hide`, newest first.
fn walk(repo: &git2::Repository, from: Oid, hide: &[Oid]) -> Result<Vec<Oid>, git2::Error> {
    let mut rw = repo.revwalk()?;
    rw.set_sorting(Sort::TOPOLOGICAL | Sort::TIME)?;
    rw.push(from)?;
    for h in hide {
        rw.hide(*h)?;
    }
    rw.collect()
}

/// The newest commit on the target's first-parent line (above `current`)
/// such that it and every pending commit it brings have soaked.
fn adoptable(
    repo: &git2::Repository,
    current: Oid,
    target: Oid,
    pending: &[PendingCommit],
) -> Result<Option<Oid>, git2::Error> {
    let pending_set: BTreeSet<Oid> = pending
        .iter()
        .filter_map(|p| Oid::from_str(&p.commit.id).ok())
        .collect();
    let unsoaked: BTreeSet<Oid> = pending
        .iter()
        .filter(|p| !p.soak.is_soaked())
        .filter_map(|p| Oid::from_str(&p.commit.id).ok())
        .collect();
    // first-parent line from the target down to the current commit's history
    let mut line = Vec::new();
    let mut at = target;
    while pending_set.contains(&at) {
        line.push(at);
        match repo.find_commit(at)?.parent_id(0) {
            Ok(p) => at = p,
            Err(_) => break,
        }
    }
    let mut best = None;
    let mut prev: Option<Oid> = None;
    for x in line.into_iter().rev() {
        let hide: Vec<Oid> = std::iter::once(current).chain(prev).collect();
        if walk(repo, x, &hide)?.iter().any(|id| unsoaked.contains(id)) {
            break;
        }
        best = Some(x);
        prev = Some(x);
    }
    Ok(best)
}

fn short(id: &str) -> &str {
    &id[..id.len().min(7)]
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
