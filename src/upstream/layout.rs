//! Owns reading which upstream commit the wrapper currently has, for each
//! layout: a submodule's gitlink (and its checkout), a plain clone's HEAD, or
//! the commit recorded for a vendored copy (plus that copy's local
//! modifications). Only reads the wrapper.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use git2::{ObjectType, Repository, RepositoryOpenFlags};
use serde::Serialize;

use super::commit::CommitInfo;
use super::error::{UpstreamError, git_detail, git_err};
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
}

/// How a vendored copy differs from the upstream tree at its recorded commit.
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
    read_current(project, up, Some(mirror))
}

/// Like [`current_commit`] without an open mirror: the vendored layout opens
/// the mirror in the state dir, which must have been fetched before.
pub fn current_commit_local(
    project: &ProjectConfig,
    up: &UpstreamConfig,
) -> Result<CurrentCommit, UpstreamError> {
    read_current(project, up, None)
}

fn read_current(
    project: &ProjectConfig,
    up: &UpstreamConfig,
    mirror: Option<&Mirror>,
) -> Result<CurrentCommit, UpstreamError> {
    match up.layout {
        Layout::Submodule => submodule(project, up),
        Layout::Clone => clone(project, up),
        Layout::Vendored => match mirror {
            Some(m) => vendored(project, up, m),
            None => {
                let m = Mirror::open_existing(&StateDir::new(&project.state_dir), up)?;
                vendored(project, up, &m)
            }
        },
    }
}

/// Opens exactly the repository at `path` (no search in parent folders).
fn open_here(path: &Path) -> Result<Repository, git2::Error> {
    Repository::open_ext(
        path,
        RepositoryOpenFlags::NO_SEARCH,
        std::iter::empty::<&OsStr>(),
    )
}

fn display_dir(p: &Path) -> String {
    format!("{}/", p.display())
}

fn submodule(project: &ProjectConfig, up: &UpstreamConfig) -> Result<CurrentCommit, UpstreamError> {
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
    if let Some(r) = &checkout_repo {
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
    })
}

fn clone(project: &ProjectConfig, up: &UpstreamConfig) -> Result<CurrentCommit, UpstreamError> {
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
    let n = dirty_files(&repo);
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
    })
}

fn vendored(
    project: &ProjectConfig,
    up: &UpstreamConfig,
    mirror: &Mirror,
) -> Result<CurrentCommit, UpstreamError> {
    let full = project.root.join(&up.path);
    if !full.exists() {
        return Err(UpstreamError::MissingPath {
            upstream: up.name.clone(),
            path: full,
        });
    }
    let record_path = project.root.join(&up.record_file);
    let record_err = |detail: String| UpstreamError::RecordFile {
        upstream: up.name.clone(),
        path: record_path.clone(),
        detail,
    };
    let wrapper = open_here(&project.root).ok();
    let committed = project.wrapper_source == WrapperSource::Committed;
    let text = if committed {
        let repo = wrapper.as_ref().ok_or_else(|| UpstreamError::NotARepo {
            upstream: up.name.clone(),
            path: project.root.clone(),
            layout: up.layout,
            hint: "wrapper_source = \"committed\" reads the wrapper's HEAD; use \"worktree\" \
                   for a wrapper that is not a repository"
                .into(),
        })?;
        read_committed(repo, &up.record_file).map_err(|e| record_err(git_detail(&e)))?
    } else {
        fs_err::read_to_string(&record_path).map_err(|e| record_err(e.to_string()))?
    };
    let hash = up
        .record_pattern
        .captures(&text)
        .and_then(|c| c.get(1))
        .map(|m| m.as_str().to_ascii_lowercase())
        .ok_or_else(|| UpstreamError::NoRecord {
            upstream: up.name.clone(),
            path: record_path.clone(),
            pattern: up.record_pattern.as_str().to_owned(),
        })?;
    let commit = mirror
        .repo()
        .revparse_single(&hash)
        .and_then(|o| o.peel_to_commit())
        .map_err(|e| UpstreamError::UnknownRecorded {
            upstream: up.name.clone(),
            hash: hash.clone(),
            path: record_path.clone(),
            detail: git_detail(&e),
        })?;
    let mods = local_mods(project, up, wrapper.as_ref(), mirror, &commit)?;
    let mut warnings = Vec::new();
    if !mods.is_empty() {
        warnings.push(format!(
            "vendored copy {} differs from upstream {}: {} modified, {} added, {} deleted",
            display_dir(&up.path),
            short(commit.id()),
            mods.modified,
            mods.added,
            mods.deleted
        ));
    }
    Ok(CurrentCommit {
        id: commit.id().to_string(),
        source: format!("recorded in {}", up.record_file.display()),
        commit: Some(CommitInfo::from_commit(&commit)),
        gitlink: None,
        checkout: None,
        notes: Vec::new(),
        warnings,
        local_modifications: Some(mods),
    })
}

fn read_committed(repo: &Repository, rel: &Path) -> Result<String, git2::Error> {
    let tree = repo.head()?.peel_to_tree()?;
    let blob = tree.get_path(rel)?.to_object(repo)?.peel_to_blob()?;
    Ok(String::from_utf8_lossy(blob.content()).into_owned())
}

/// A file of the upstream tree: blob id and size.
struct UpFile {
    id: git2::Oid,
    size: usize,
}

struct Compare<'a> {
    upstream: BTreeMap<String, UpFile>,
    /// Folders of the upstream tree (never skipped as ignored).
    dirs: BTreeSet<String>,
    /// Nested submodules of the upstream tree (not compared).
    gitlinks: BTreeSet<String>,
    /// Path of the record file relative to the upstream root, if inside it.
    record: Option<String>,
    wrapper: Option<&'a Repository>,
    /// The upstream's path relative to the wrapper root.
    base: &'a Path,
    seen: BTreeSet<String>,
    mods: LocalMods,
}

fn skipped(rel: &str) -> bool {
    rel.split('/').any(|c| c == "__pycache__" || c == ".git")
}

fn local_mods(
    project: &ProjectConfig,
    up: &UpstreamConfig,
    wrapper: Option<&Repository>,
    mirror: &Mirror,
    commit: &git2::Commit<'_>,
) -> Result<LocalMods, UpstreamError> {
    let name = &up.name;
    let tree = commit
        .tree()
        .map_err(git_err(name, "reading the upstream tree"))?;
    let odb = mirror
        .repo()
        .odb()
        .map_err(git_err(name, "opening the mirror"))?;
    let mut cmp = Compare {
        upstream: BTreeMap::new(),
        dirs: BTreeSet::new(),
        gitlinks: BTreeSet::new(),
        record: up
            .record_file
            .strip_prefix(&up.path)
            .ok()
            .map(|p| p.to_string_lossy().into_owned()),
        wrapper,
        base: &up.path,
        seen: BTreeSet::new(),
        mods: LocalMods::default(),
    };
    tree.walk(git2::TreeWalkMode::PreOrder, |dir, entry| {
        let path = format!("{dir}{}", entry.name().unwrap_or_default());
        if skipped(&path) {
            return git2::TreeWalkResult::Skip;
        }
        match entry.kind() {
            Some(ObjectType::Blob) => {
                let size = odb.read_header(entry.id()).map(|(s, _)| s).unwrap_or(0);
                cmp.upstream.insert(
                    path,
                    UpFile {
                        id: entry.id(),
                        size,
                    },
                );
            }
            Some(ObjectType::Tree) => {
                cmp.dirs.insert(path);
            }
            Some(ObjectType::Commit) => {
                cmp.gitlinks.insert(path);
            }
            _ => {}
        }
        git2::TreeWalkResult::Ok
    })
    .map_err(git_err(name, "walking the upstream tree"))?;

    if project.wrapper_source == WrapperSource::Committed {
        let Some(repo) = wrapper else {
            unreachable!("committed mode checked the wrapper is a repository")
        };
        let sub = repo
            .head()
            .and_then(|h| h.peel_to_tree())
            .and_then(|t| t.get_path(&up.path))
            .and_then(|e| e.to_object(repo))
            .and_then(|o| o.peel_to_tree())
            .map_err(|e| UpstreamError::Wrapper {
                upstream: name.clone(),
                path: project.root.join(&up.path),
                detail: format!("not a folder in the wrapper's HEAD: {}", git_detail(&e)),
            })?;
        sub.walk(git2::TreeWalkMode::PreOrder, |dir, entry| {
            let path = format!("{dir}{}", entry.name().unwrap_or_default());
            if skipped(&path) || cmp.gitlinks.contains(&path) {
                return git2::TreeWalkResult::Skip;
            }
            if entry.kind() == Some(ObjectType::Blob) {
                cmp.file(path, |up| Ok(up.id == entry.id()));
            }
            git2::TreeWalkResult::Ok
        })
        .map_err(git_err(name, "walking the wrapper's tree"))?;
    } else {
        let full = project.root.join(&up.path);
        cmp.walk_dir(&full, "")
            .map_err(|e| UpstreamError::Wrapper {
                upstream: name.clone(),
                path: full.clone(),
                detail: e.to_string(),
            })?;
    }
    let Compare {
        upstream,
        seen,
        record,
        mut mods,
        ..
    } = cmp;
    for path in upstream.keys() {
        if !seen.contains(path) && record.as_deref() != Some(path) {
            mods.deleted += 1;
            mods.files.push(ModifiedFile {
                path: path.clone(),
                change: Change::Deleted,
            });
        }
    }
    mods.files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(mods)
}

impl Compare<'_> {
    /// Records one wrapper file; `same` says whether it matches the upstream's.
    fn file(&mut self, path: String, same: impl FnOnce(&UpFile) -> std::io::Result<bool>) {
        if self.record.as_deref() == Some(path.as_str()) {
            return;
        }
        match self.upstream.get(&path) {
            Some(up) => {
                let same = same(up).unwrap_or(false);
                self.seen.insert(path.clone());
                if !same {
                    self.mods.modified += 1;
                    self.mods.files.push(ModifiedFile {
                        path,
                        change: Change::Modified,
                    });
                }
            }
            None => {
                if self.ignored(&path) {
                    return;
                }
                self.mods.added += 1;
                self.mods.files.push(ModifiedFile {
                    path,
                    change: Change::Added,
                });
            }
        }
    }

    fn ignored(&self, rel: &str) -> bool {
        self.wrapper
            .and_then(|w| w.is_path_ignored(self.base.join(rel)).ok())
            .unwrap_or(false)
    }

    fn walk_dir(&mut self, dir: &Path, rel: &str) -> std::io::Result<()> {
        let mut entries: Vec<_> = fs_err::read_dir(dir)?.collect::<Result<_, _>>()?;
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            if skipped(&path) {
                continue;
            }
            let ft = entry.file_type()?;
            let disk: PathBuf = entry.path();
            if ft.is_dir() {
                if self.gitlinks.contains(&path) {
                    self.seen.insert(path);
                    continue;
                }
                if !self.dirs.contains(&path) && self.ignored(&path) {
                    continue;
                }
                self.walk_dir(&disk, &path)?;
            } else {
                let is_link = ft.is_symlink();
                self.file(path, |up| {
                    if is_link {
                        let target = fs_err::read_link(&disk)?;
                        let bytes = target.to_string_lossy().into_owned().into_bytes();
                        return Ok(
                            git2::Oid::hash_object(ObjectType::Blob, &bytes).ok() == Some(up.id)
                        );
                    }
                    if fs_err::metadata(&disk)?.len() != up.size as u64 {
                        return Ok(false);
                    }
                    let bytes = fs_err::read(&disk)?;
                    Ok(git2::Oid::hash_object(ObjectType::Blob, &bytes).ok() == Some(up.id))
                });
            }
        }
        Ok(())
    }
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

fn short(id: git2::Oid) -> String {
    id.to_string()[..7].to_owned()
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
