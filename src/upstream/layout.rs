//! Owns reading which upstream commit the wrapper currently has, for each
//! layout: a submodule's gitlink (and its checkout), a plain clone's HEAD, or
//! a vendored copy's base (`vendored`), or
//! the pin in a wrapper file (`pinned`). Only reads the wrapper.

use std::ffi::OsStr;
use std::path::Path;

use git2::{ObjectType, Repository, RepositoryOpenFlags};
use serde::Serialize;

use super::base::BaseDetection;
use super::commit::CommitInfo;
use super::error::{UpstreamError, git_detail};
use super::mirror::Mirror;
use crate::config::{Layout, ProjectConfig, UpstreamConfig, WrapperSource};
use crate::state::StateDir;

/// The upstream commit the wrapper has now.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CurrentCommit {
    /// Full hash.
    pub id: String,
    /// Where it was read, e.g. `gitlink in wrapper HEAD`.
    pub source: String,
    /// The commit, when it could be read (from the mirror or a local checkout).
    pub commit: Option<CommitInfo>,
    /// Submodule layout: the gitlink committed in the wrapper's HEAD.
    pub gitlink: Option<String>,
    /// Submodule layout: the submodule checkout's HEAD.
    pub checkout: Option<String>,
    /// Things worth knowing, e.g. the submodule is not checked out.
    pub notes: Vec<String>,
    /// Things that need attention: the checkout differs from the gitlink,
    /// uncommitted changes, a modified vendored copy.
    pub warnings: Vec<String>,
    /// Vendored layout: how the copy differs from the upstream tree.
    pub local_modifications: Option<LocalMods>,
    /// Vendored layout with `base = "detect"`: the commit the copy's files
    /// match best, and how the record compares.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base: Option<BaseDetection>,
}

/// How a vendored copy differs from the upstream tree at its base commit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LocalMods {
    pub modified: usize,
    pub added: usize,
    pub deleted: usize,
    /// Every differing file, by path relative to the upstream root.
    pub files: Vec<ModifiedFile>,
}

impl LocalMods {
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModifiedFile {
    pub path: String,
    pub change: Change,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    Modified,
    Added,
    Deleted,
}

impl Change {
    /// The word for it, as serialised.
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Modified => "modified",
            Change::Added => "added",
            Change::Deleted => "deleted",
        }
    }
}

/// The wrapper's current commit of `up`. The mirror is used by the vendored
/// layout to resolve the recorded (maybe abbreviated) hash.
pub fn current_commit(
    project: &ProjectConfig,
    up: &UpstreamConfig,
    mirror: &Mirror,
) -> Result<CurrentCommit, UpstreamError> {
    read_current(project, up, Some(mirror), Dirty::Count)
}

/// [`current_commit`] without counting a checkout's uncommitted files (a
/// status of every file: a seventh of a warm analysis of a large clone),
/// for callers that read the commit, not the checkout (the analysis).
pub fn current_commit_of_history(
    project: &ProjectConfig,
    up: &UpstreamConfig,
    mirror: &Mirror,
) -> Result<CurrentCommit, UpstreamError> {
    read_current(project, up, Some(mirror), Dirty::Skip)
}

/// Whether a submodule's or clone's checkout is searched for uncommitted
/// files (a warning).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dirty {
    Count,
    Skip,
}

/// Like [`current_commit`] without an open mirror: the vendored layout opens
/// the mirror in the state dir, which must have been fetched before.
pub fn current_commit_local(
    project: &ProjectConfig,
    up: &UpstreamConfig,
) -> Result<CurrentCommit, UpstreamError> {
    read_current(project, up, None, Dirty::Count)
}

fn read_current(
    project: &ProjectConfig,
    up: &UpstreamConfig,
    mirror: Option<&Mirror>,
    dirty: Dirty,
) -> Result<CurrentCommit, UpstreamError> {
    match up.layout {
        Layout::Submodule => submodule(project, up, dirty),
        Layout::Clone => clone(project, up, dirty),
        Layout::Vendored => match mirror {
            Some(m) => super::vendored::vendored(project, up, m),
            None => {
                let m = Mirror::open_existing(&StateDir::new(&project.state_dir), up)?;
                super::vendored::vendored(project, up, &m)
            }
        },
        Layout::Pinned => match mirror {
            Some(m) => super::pin::pinned(project, up, m),
            None => {
                let m = Mirror::open_existing(&StateDir::new(&project.state_dir), up)?;
                super::pin::pinned(project, up, &m)
            }
        },
    }
}

/// Opens exactly the repository at `path` (no search in parent folders).
pub(super) fn open_here(path: &Path) -> Result<Repository, git2::Error> {
    Repository::open_ext(
        path,
        RepositoryOpenFlags::NO_SEARCH,
        std::iter::empty::<&OsStr>(),
    )
}

pub(super) fn display_dir(p: &Path) -> String {
    format!("{}/", p.display())
}

fn submodule(
    project: &ProjectConfig,
    up: &UpstreamConfig,
    dirty: Dirty,
) -> Result<CurrentCommit, UpstreamError> {
    let full = project.root.join(&up.path);
    let wrapper = open_here(&project.root).map_err(|_| UpstreamError::NotARepo {
        upstream: up.name.clone(),
        path: project.root.clone(),
        layout: up.layout,
        hint: "a submodule lives in a git repository; check project.root".into(),
    })?;
    let mut notes = Vec::new();
    let mut warnings = Vec::new();
    let gitlink = match wrapper.head().and_then(|h| h.peel_to_tree()) {
        Ok(tree) => match tree.get_path(&up.path) {
            Ok(entry) if entry.kind() == Some(ObjectType::Commit) => Some(entry.id()),
            Ok(_) => {
                return Err(UpstreamError::Wrapper {
                    upstream: up.name.clone(),
                    path: full,
                    detail: "it is committed as a folder of files, not a submodule; is layout \
                             `vendored` (or `clone`) meant?"
                        .into(),
                });
            }
            Err(_) => None,
        },
        Err(_) => None,
    };
    let checkout_repo = open_here(&full).ok();
    let checkout = checkout_repo
        .as_ref()
        .and_then(|r| r.head().ok())
        .and_then(|h| h.target());
    if gitlink.is_none() && checkout.is_none() {
        if !full.exists() {
            return Err(UpstreamError::MissingPath {
                upstream: up.name.clone(),
                path: full,
            });
        }
        return Err(UpstreamError::Wrapper {
            upstream: up.name.clone(),
            path: full,
            detail: "no submodule is committed at this path in the wrapper's HEAD and none is \
                     checked out"
                .into(),
        });
    }
    let dir = display_dir(&up.path);
    if gitlink.is_none() {
        notes.push(format!(
            "the wrapper's HEAD has no submodule commit at {dir} (not committed yet?); using the checkout"
        ));
    }
    if checkout.is_none() {
        notes.push(format!(
            "submodule {dir} is not checked out (run `git submodule update --init`); using the committed gitlink"
        ));
    }
    if let Some(r) = checkout_repo.as_ref().filter(|_| dirty == Dirty::Count) {
        let n = dirty_files(r);
        if n > 0 {
            warnings.push(format!(
                "submodule checkout {dir} has uncommitted changes ({n} file{})",
                plural(n)
            ));
        }
    }
    let (id, source) = match (gitlink, checkout) {
        (Some(g), Some(c)) if g != c => {
            let use_checkout = project.wrapper_source == WrapperSource::Worktree;
            warnings.push(format!(
                "submodule checkout {dir} is at {} but the wrapper's HEAD records {}; using the {} (wrapper_source = {})",
                short(c),
                short(g),
                if use_checkout { "checkout" } else { "gitlink" },
                if use_checkout { "worktree" } else { "committed" },
            ));
            if use_checkout {
                (c, format!("checked-out HEAD of submodule {dir}"))
            } else {
                (g, "gitlink in wrapper HEAD".to_owned())
            }
        }
        (Some(g), _) => (g, "gitlink in wrapper HEAD".to_owned()),
        (None, Some(c)) => (c, format!("checked-out HEAD of submodule {dir}")),
        (None, None) => unreachable!("handled above"),
    };
    let commit = checkout_repo
        .as_ref()
        .and_then(|r| r.find_commit(id).ok())
        .map(|c| CommitInfo::from_commit(&c));
    Ok(CurrentCommit {
        id: id.to_string(),
        source,
        commit,
        gitlink: gitlink.map(|g| g.to_string()),
        checkout: checkout.map(|c| c.to_string()),
        notes,
        warnings,
        local_modifications: None,
        base: None,
    })
}

fn clone(
    project: &ProjectConfig,
    up: &UpstreamConfig,
    dirty: Dirty,
) -> Result<CurrentCommit, UpstreamError> {
    let full = project.root.join(&up.path);
    if !full.exists() {
        return Err(UpstreamError::MissingPath {
            upstream: up.name.clone(),
            path: full,
        });
    }
    let repo = open_here(&full).map_err(|_| UpstreamError::NotARepo {
        upstream: up.name.clone(),
        path: full.clone(),
        layout: up.layout,
        hint: "a clone has its own `.git`; if the upstream's files are copied into the wrapper, \
               use layout = \"vendored\""
            .into(),
    })?;
    let head =
        repo.head()
            .and_then(|h| h.peel_to_commit())
            .map_err(|e| UpstreamError::Wrapper {
                upstream: up.name.clone(),
                path: full.clone(),
                detail: format!("the clone has no commit checked out: {}", git_detail(&e)),
            })?;
    let dir = display_dir(&up.path);
    let mut warnings = Vec::new();
    let n = match dirty {
        Dirty::Count => dirty_files(&repo),
        Dirty::Skip => 0,
    };
    if n > 0 {
        warnings.push(format!(
            "clone {dir} has uncommitted changes ({n} file{})",
            plural(n)
        ));
    }
    Ok(CurrentCommit {
        id: head.id().to_string(),
        source: format!("HEAD of clone {dir}"),
        commit: Some(CommitInfo::from_commit(&head)),
        gitlink: None,
        checkout: None,
        notes: Vec::new(),
        warnings,
        local_modifications: None,
        base: None,
    })
}

/// Files with uncommitted changes in a checkout (untracked ones included,
/// ignored ones and nested submodules not).
fn dirty_files(repo: &Repository) -> usize {
    let mut opts = git2::StatusOptions::new();
    opts.include_untracked(true)
        .include_ignored(false)
        .exclude_submodules(true);
    repo.statuses(Some(&mut opts)).map(|s| s.len()).unwrap_or(0)
}

pub(super) fn short(id: git2::Oid) -> String {
    id.to_string()[..7].to_owned()
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
