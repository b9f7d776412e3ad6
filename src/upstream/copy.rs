//! Owns the files of a vendored copy as they are compared with upstream
//! trees: each path's blob id (hashed once, the first time it is compared,
//! or read from the wrapper's HEAD), whether the wrapper ignores it, and the
//! copy's local modifications against one upstream tree. Upstream blobs are
//! compared by id only, so an unreadable upstream blob never fails the
//! comparison. Only reads the wrapper.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use git2::{ObjectType, Oid, Repository, Tree};

use super::error::{UpstreamError, git_detail, git_err};
use super::layout::{Change, LocalMods, ModifiedFile};
use crate::config::{ProjectConfig, UpstreamConfig, WrapperSource};

/// Paths tether never compares: bytecode caches and nested `.git` folders.
pub(super) fn skipped(rel: &str) -> bool {
    rel.split('/').any(|c| c == "__pycache__" || c == ".git")
}

/// The files of one upstream tree: blob ids by path, folders and nested
/// submodules (never the record file or skipped paths).
#[derive(Default)]
pub(super) struct TreeFiles {
    pub blobs: BTreeMap<String, Oid>,
    pub dirs: BTreeSet<String>,
    pub gitlinks: BTreeSet<String>,
}

impl TreeFiles {
    pub fn read(tree: &Tree<'_>, record: Option<&str>, name: &str) -> Result<Self, UpstreamError> {
        let mut out = TreeFiles::default();
        tree.walk(git2::TreeWalkMode::PreOrder, |dir, entry| {
            let path = format!("{dir}{}", entry.name().unwrap_or_default());
            if skipped(&path) {
                return git2::TreeWalkResult::Skip;
            }
            match entry.kind() {
                Some(ObjectType::Blob) if record != Some(path.as_str()) => {
                    out.blobs.insert(path, entry.id());
                }
                Some(ObjectType::Tree) => {
                    out.dirs.insert(path);
                }
                Some(ObjectType::Commit) => {
                    out.gitlinks.insert(path);
                }
                _ => {}
            }
            git2::TreeWalkResult::Ok
        })
        .map_err(git_err(name, "walking the upstream tree"))?;
        Ok(out)
    }
}

enum Source {
    /// Committed in the wrapper's HEAD: the id is known.
    Blob(Oid),
    /// A file on disk, hashed when first compared.
    Disk(PathBuf),
    /// A symbolic link on disk: its target is the blob.
    Link(PathBuf),
}

struct CopyFile {
    source: Source,
    /// `Some(None)`: hashed, but the file could not be read.
    oid: Option<Option<Oid>>,
    ignored: Option<bool>,
}

/// The vendored copy's files by path relative to the upstream root.
pub(super) struct CopyFiles<'a> {
    files: BTreeMap<String, CopyFile>,
    wrapper: Option<&'a Repository>,
    /// The upstream's path relative to the wrapper root.
    base: &'a Path,
    /// Files hashed so far (for the log).
    pub hashed: usize,
}

impl<'a> CopyFiles<'a> {
    /// Lists the copy (worktree or HEAD per `wrapper_source`). `reference`
    /// is an upstream tree whose folders are walked even when the wrapper
    /// ignores them and whose nested submodules are not walked.
    pub fn read(
        project: &ProjectConfig,
        up: &'a UpstreamConfig,
        wrapper: Option<&'a Repository>,
        reference: &TreeFiles,
        record: Option<&str>,
    ) -> Result<Self, UpstreamError> {
        let mut copy = CopyFiles {
            files: BTreeMap::new(),
            wrapper,
            base: &up.path,
            hashed: 0,
        };
        let name = &up.name;
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
                if skipped(&path) || reference.gitlinks.contains(&path) {
                    return git2::TreeWalkResult::Skip;
                }
                if entry.kind() == Some(ObjectType::Blob) && record != Some(path.as_str()) {
                    copy.insert(path, Source::Blob(entry.id()));
                }
                git2::TreeWalkResult::Ok
            })
            .map_err(git_err(name, "walking the wrapper's tree"))?;
        } else {
            let full = project.root.join(&up.path);
            copy.walk_dir(&full, "", reference, record)
                .map_err(|e| UpstreamError::Wrapper {
                    upstream: name.clone(),
                    path: full.clone(),
                    detail: e.to_string(),
                })?;
        }
        Ok(copy)
    }

    fn insert(&mut self, path: String, source: Source) {
        let oid = match source {
            Source::Blob(id) => Some(Some(id)),
            _ => None,
        };
        self.files.insert(
            path,
            CopyFile {
                source,
                oid,
                ignored: None,
            },
        );
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn contains(&self, path: &str) -> bool {
        self.files.contains_key(path)
    }

    pub fn paths(&self) -> impl Iterator<Item = &String> {
        self.files.keys()
    }

    /// Whether the copy's file at `path` is the blob `id` (false when the
    /// copy has no such file or it cannot be read).
    pub fn is_same(&mut self, path: &str, id: Oid) -> bool {
        let Some(f) = self.files.get_mut(path) else {
            return false;
        };
        if f.oid.is_none() {
            f.oid = Some(hash(&f.source));
            self.hashed += 1;
        }
        f.oid == Some(Some(id))
    }

    /// Whether the wrapper ignores the copy's file at `path` (an ignored
    /// file the upstream does not have is not a local addition).
    pub fn is_ignored(&mut self, path: &str) -> bool {
        let (wrapper, base) = (self.wrapper, self.base);
        let Some(f) = self.files.get_mut(path) else {
            return false;
        };
        *f.ignored.get_or_insert_with(|| {
            wrapper
                .and_then(|w| w.is_path_ignored(base.join(path)).ok())
                .unwrap_or(false)
        })
    }

    fn walk_dir(
        &mut self,
        dir: &Path,
        rel: &str,
        reference: &TreeFiles,
        record: Option<&str>,
    ) -> std::io::Result<()> {
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
            if ft.is_dir() {
                if reference.gitlinks.contains(&path) {
                    continue;
                }
                let ignored = || {
                    self.wrapper
                        .and_then(|w| w.is_path_ignored(self.base.join(&path)).ok())
                        .unwrap_or(false)
                };
                if !reference.dirs.contains(&path) && ignored() {
                    continue;
                }
                self.walk_dir(&entry.path(), &path, reference, record)?;
            } else if record != Some(path.as_str()) {
                let source = if ft.is_symlink() {
                    Source::Link(entry.path())
                } else {
                    Source::Disk(entry.path())
                };
                self.insert(path, source);
            }
        }
        Ok(())
    }
}

fn hash(source: &Source) -> Option<Oid> {
    match source {
        Source::Blob(id) => Some(*id),
        Source::Disk(p) => {
            let bytes = fs_err::read(p).ok()?;
            Oid::hash_object(ObjectType::Blob, &bytes).ok()
        }
        Source::Link(p) => {
            let target = fs_err::read_link(p).ok()?;
            let bytes = target.to_string_lossy().into_owned().into_bytes();
            Oid::hash_object(ObjectType::Blob, &bytes).ok()
        }
    }
}

/// How the copy differs from the upstream tree `tree`.
pub(super) fn local_mods(copy: &mut CopyFiles<'_>, tree: &TreeFiles) -> LocalMods {
    let mut mods = LocalMods::default();
    for (path, id) in &tree.blobs {
        let change = if !copy.contains(path) {
            Change::Deleted
        } else if copy.is_same(path, *id) {
            continue;
        } else {
            Change::Modified
        };
        mods.files.push(ModifiedFile {
            path: path.clone(),
            change,
        });
    }
    let added: Vec<String> = copy
        .paths()
        .filter(|p| !tree.blobs.contains_key(*p))
        .cloned()
        .collect();
    for path in added {
        if !copy.is_ignored(&path) {
            mods.files.push(ModifiedFile {
                path,
                change: Change::Added,
            });
        }
    }
    mods.files.sort_by(|a, b| a.path.cmp(&b.path));
    for f in &mods.files {
        match f.change {
            Change::Modified => mods.modified += 1,
            Change::Added => mods.added += 1,
            Change::Deleted => mods.deleted += 1,
        }
    }
    mods
}
