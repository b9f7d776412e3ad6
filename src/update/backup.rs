//! Owns the backup taken before an update touches anything: the wrapper's
//! HEAD and branch, every dirty or untracked file (status, git blob hash and
//! a copy of its bytes), the upstream commit and the live upstream checkout's
//! HEAD, a vendored copy's local modifications as a patch against the
//! recorded upstream commit, and `pip freeze`. Everything lives under
//! `<state>/update/<id>/backup/`; `backup.json` describes it.

use std::path::{Path, PathBuf};

use git2::{ObjectType, Oid, Repository, Status, StatusOptions};
use serde::{Deserialize, Serialize};

use super::error::{UpdateError, git_err, io_err};
use super::git_ops::{head_of, open_here};
use super::journal::UpdatePaths;
use super::member::{Member, MemberBackup};
use crate::config::{Config, Layout, UpstreamConfig};
use crate::python_env::{self as pip, PipFreeze};
use crate::state::{StateDir, read_json, write_json};
use crate::upstream::{Change, Mirror, current_commit};

const MANIFEST: &str = "backup.json";
const FILES: &str = "files";
const PATCH: &str = "vendored.patch";

/// One file with uncommitted changes (or untracked) in the live wrapper.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirtyFile {
    /// Relative to the wrapper root, `/`-separated.
    pub path: String,
    /// `modified`, `added`, `untracked`, `deleted`, `renamed` or `typechange`.
    pub status: String,
    /// Git blob hash of the bytes on disk (a symlink's target); `None` when
    /// the file is gone from disk.
    pub blob: Option<String>,
    pub symlink: bool,
    /// Unix mode bits of the file on disk.
    pub mode: Option<u32>,
}

/// Everything needed to prove the live wrapper unchanged, or to put it back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Backup {
    pub id: String,
    /// This backup's folder.
    pub dir: PathBuf,
    pub taken: jiff::Timestamp,
    pub upstream: String,
    /// `submodule`, `clone` or `vendored`.
    pub layout: String,
    /// The upstream's path in the wrapper (relative).
    pub upstream_path: PathBuf,
    pub wrapper_root: PathBuf,
    /// The wrapper's HEAD commit.
    pub head: String,
    /// Its branch (`refs/heads/...`); `None` when HEAD is detached.
    pub branch: Option<String>,
    pub dirty: Vec<DirtyFile>,
    /// The upstream commit the wrapper has (gitlink, clone HEAD or recorded).
    pub upstream_commit: String,
    /// Submodule and clone layouts: HEAD of the checkout at `<root>/<path>`.
    pub upstream_checkout: Option<String>,
    /// Its branch, `None` when detached or not checked out.
    pub upstream_checkout_branch: Option<String>,
    /// Vendored layout: the local modifications, as a patch file name in
    /// `dir` (absent when there are none).
    pub vendored_patch: Option<String>,
    pub pip: PipFreeze,
    /// A group update: the members after the first (whose fields are the
    /// `upstream*` ones above), in the group's order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub peers: Vec<MemberBackup>,
}

impl Backup {
    /// Takes the backup for update `id` of `up`. Reads the live wrapper
    /// only; writes under `<state>/update/<id>/backup/`.
    pub fn take(
        cfg: &Config,
        up: &UpstreamConfig,
        mirror: &Mirror,
        id: &str,
    ) -> Result<Backup, UpdateError> {
        Self::take_group(cfg, &[Member { up, mirror }], id)
    }

    /// Takes the backup for update `id` of every member (at least one; the
    /// first is the backup's `upstream`, the rest its `peers`).
    pub fn take_group(
        cfg: &Config,
        members: &[Member<'_>],
        id: &str,
    ) -> Result<Backup, UpdateError> {
        let [lead, rest @ ..] = members else {
            return Err(UpdateError::Layout {
                upstream: String::new(),
                detail: "an update needs at least one upstream".into(),
            });
        };
        let up = lead.up;
        let state = StateDir::new(&cfg.project.state_dir);
        let dir = UpdatePaths::new(&state).backup_dir(id);
        let root = cfg.project.root.clone();
        crate::state::create_private_dir(&dir).map_err(io_err("create the backup folder", &dir))?;
        let repo = open_here(&root).map_err(|e| UpdateError::Layout {
            upstream: up.name.clone(),
            detail: format!(
                "`tether update` needs the wrapper at `{}` to be a git repository: {}",
                root.display(),
                e.message()
            ),
        })?;
        let (head, branch) = head_of(&repo, &root)?;
        let dirty = scan_dirty(&repo, &root)?;
        let files_dir = dir.join(FILES);
        for f in &dirty {
            if f.blob.is_some() {
                copy_file(&root.join(&f.path), &files_dir.join(&f.path), f.symlink)?;
            }
        }
        crate::failpoint::hit("update.backup.files-copied");
        let first = member_backup(cfg, lead, &dir, PATCH)?;
        let mut peers = Vec::new();
        for m in rest {
            let patch = format!("vendored-{}.patch", m.up.name);
            peers.push(member_backup(cfg, m, &dir, &patch)?);
        }
        let pip = pip::freeze(&cfg.project.python, &root, &dir);
        if let PipFreeze::Unavailable { reason } = &pip {
            tracing::warn!(%reason, "pip freeze unavailable; protected packages cannot be checked on rollback");
        }
        let backup = Backup {
            id: id.to_owned(),
            dir: dir.clone(),
            taken: crate::env::now(),
            upstream: first.upstream,
            layout: first.layout,
            upstream_path: first.upstream_path,
            wrapper_root: root,
            head: head.to_string(),
            branch,
            dirty,
            upstream_commit: first.upstream_commit,
            upstream_checkout: first.upstream_checkout,
            upstream_checkout_branch: first.upstream_checkout_branch,
            vendored_patch: first.vendored_patch,
            pip,
            peers,
        };
        write_json(&dir.join(MANIFEST), &backup)?;
        Ok(backup)
    }

    /// Every member the backup saw, the first one first.
    pub fn members(&self) -> Vec<MemberBackup> {
        let mut out = vec![MemberBackup {
            upstream: self.upstream.clone(),
            layout: self.layout.clone(),
            upstream_path: self.upstream_path.clone(),
            upstream_commit: self.upstream_commit.clone(),
            upstream_checkout: self.upstream_checkout.clone(),
            upstream_checkout_branch: self.upstream_checkout_branch.clone(),
            vendored_patch: self.vendored_patch.clone(),
        }];
        out.extend(self.peers.iter().cloned());
        out
    }

    /// What the backup saw of the member `upstream`.
    pub fn member(&self, upstream: &str) -> Option<MemberBackup> {
        self.members().into_iter().find(|m| m.upstream == upstream)
    }

    /// Reads the backup in `dir`.
    pub fn load(dir: &Path) -> Result<Backup, UpdateError> {
        read_json(&dir.join(MANIFEST))?.ok_or_else(|| UpdateError::NoBackup {
            path: dir.to_path_buf(),
        })
    }

    /// Where the copy of a dirty file is kept.
    pub fn copy_of(&self, rel: &str) -> PathBuf {
        self.dir.join(FILES).join(rel)
    }

    /// Puts every dirty file's backed-up bytes into the tree at `dest` (and
    /// removes the ones that were deleted), leaving them uncommitted.
    pub fn copy_dirty_into(&self, dest: &Path) -> Result<(), UpdateError> {
        for f in &self.dirty {
            let to = dest.join(&f.path);
            if f.blob.is_some() {
                copy_file(&self.copy_of(&f.path), &to, f.symlink)?;
            } else if f.status == "deleted" && to.symlink_metadata().is_ok() {
                fs_err::remove_file(&to).map_err(io_err("remove", &to))?;
            }
        }
        Ok(())
    }
}

/// One member's upstream commit, live checkout and vendored modifications
/// (a patch written into `dir` as `patch_name`).
fn member_backup(
    cfg: &Config,
    m: &Member<'_>,
    dir: &Path,
    patch_name: &str,
) -> Result<MemberBackup, UpdateError> {
    let (up, mirror) = (m.up, m.mirror);
    let root = &cfg.project.root;
    let current = current_commit(&cfg.project, up, mirror)?;
    let (upstream_checkout, upstream_checkout_branch) = match up.layout {
        Layout::Vendored => (None, None),
        Layout::Submodule | Layout::Clone | Layout::Pinned => checkout_head(&root.join(&up.path)),
    };
    let vendored_patch = match (&current.local_modifications, up.layout) {
        (Some(mods), Layout::Vendored) if !mods.is_empty() => {
            let patch = vendored_patch(up, mirror, root, &current.id, &mods.files)?;
            let path = dir.join(patch_name);
            crate::state::write_atomic(&path, &patch).map_err(io_err("write", &path))?;
            Some(patch_name.to_owned())
        }
        _ => None,
    };
    Ok(MemberBackup {
        upstream: up.name.clone(),
        layout: up.layout.to_string(),
        upstream_path: up.path.clone(),
        upstream_commit: current.id,
        upstream_checkout,
        upstream_checkout_branch,
        vendored_patch,
    })
}

/// HEAD and branch of a checkout; `(None, None)` when it is not one.
fn checkout_head(full: &Path) -> (Option<String>, Option<String>) {
    match open_here(full) {
        Ok(r) => match head_of(&r, full) {
            Ok((id, b)) => (Some(id.to_string()), b),
            Err(_) => (None, None),
        },
        Err(_) => (None, None),
    }
}

/// Every file of the checkout with uncommitted changes, untracked ones
/// included (ignored files and submodules not), with the hash of its bytes.
pub(crate) fn scan_dirty(repo: &Repository, root: &Path) -> Result<Vec<DirtyFile>, UpdateError> {
    let mut opts = StatusOptions::new();
    opts.include_untracked(true)
        .recurse_untracked_dirs(true)
        .include_ignored(false)
        .exclude_submodules(true)
        .renames_head_to_index(false)
        .renames_index_to_workdir(false);
    let statuses = repo
        .statuses(Some(&mut opts))
        .map_err(git_err("reading the status", root))?;
    let mut out = Vec::new();
    for entry in statuses.iter() {
        let s = entry.status();
        if s.is_ignored() || s == Status::CURRENT {
            continue;
        }
        let Some(path) = entry.path().ok().map(str::to_owned) else {
            tracing::warn!("skipping a dirty file whose name is not UTF-8");
            continue;
        };
        let disk = root.join(&path);
        let status = if s.intersects(Status::WT_NEW) {
            "untracked"
        } else if s.intersects(Status::INDEX_NEW) {
            "added"
        } else if s.intersects(Status::WT_DELETED | Status::INDEX_DELETED) {
            "deleted"
        } else if s.intersects(Status::WT_TYPECHANGE | Status::INDEX_TYPECHANGE) {
            "typechange"
        } else if s.intersects(Status::WT_RENAMED | Status::INDEX_RENAMED) {
            "renamed"
        } else {
            "modified"
        };
        let (blob, symlink, mode) = hash_on_disk(&disk)?;
        out.push(DirtyFile {
            path,
            status: status.to_owned(),
            blob: blob.map(|b| b.to_string()),
            symlink,
            mode,
        });
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// Blob hash of a file (a symlink's target path), whether it is a symlink,
/// and its mode; `(None, false, None)` when it does not exist.
pub(crate) fn hash_on_disk(path: &Path) -> Result<(Option<Oid>, bool, Option<u32>), UpdateError> {
    use std::os::unix::fs::PermissionsExt;
    let meta = match fs_err::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((None, false, None)),
        Err(e) => return Err(io_err("read", path)(e)),
    };
    let mode = Some(meta.permissions().mode());
    if meta.file_type().is_symlink() {
        let target = fs_err::read_link(path).map_err(io_err("read", path))?;
        let bytes = target.to_string_lossy().into_owned().into_bytes();
        return Ok((Some(blob_hash(&bytes, path)?), true, mode));
    }
    if meta.is_dir() {
        // a nested repository or an empty folder git reports as one entry
        return Ok((None, false, mode));
    }
    let bytes = fs_err::read(path).map_err(io_err("read", path))?;
    Ok((Some(blob_hash(&bytes, path)?), false, mode))
}

fn blob_hash(bytes: &[u8], path: &Path) -> Result<Oid, UpdateError> {
    Oid::hash_object(ObjectType::Blob, bytes).map_err(git_err("hashing", path))
}

/// Copies one file (or recreates one symlink), creating folders.
pub(crate) fn copy_file(from: &Path, to: &Path, symlink: bool) -> Result<(), UpdateError> {
    if let Some(parent) = to.parent() {
        fs_err::create_dir_all(parent).map_err(io_err("create", parent))?;
    }
    if to.symlink_metadata().is_ok() {
        fs_err::remove_file(to).map_err(io_err("replace", to))?;
    }
    if symlink {
        let target = fs_err::read_link(from).map_err(io_err("read", from))?;
        fs_err::os::unix::fs::symlink(&target, to).map_err(io_err("create symlink", to))?;
    } else {
        fs_err::copy(from, to).map_err(io_err(format!("copy `{}` to", from.display()), to))?;
    }
    Ok(())
}

/// The vendored copy's local modifications as a unified diff against the
/// upstream tree at `base` (paths relative to the wrapper root).
fn vendored_patch(
    up: &UpstreamConfig,
    mirror: &Mirror,
    root: &Path,
    base: &str,
    files: &[crate::upstream::ModifiedFile],
) -> Result<Vec<u8>, UpdateError> {
    let mrepo = mirror.repo();
    let mpath = mirror.path();
    let base_id = Oid::from_str(base).map_err(git_err("parsing the recorded commit", mpath))?;
    let tree = mrepo
        .find_commit(base_id)
        .and_then(|c| c.tree())
        .map_err(git_err(format!("reading commit {base}"), mpath))?;
    let mut out = Vec::new();
    for f in files {
        let rel = up.path.join(&f.path);
        let rel_s = rel.to_string_lossy().into_owned();
        let old = match f.change {
            Change::Added => Vec::new(),
            _ => tree
                .get_path(Path::new(&f.path))
                .and_then(|e| e.to_object(mrepo))
                .and_then(|o| o.peel_to_blob())
                .map(|b| b.content().to_vec())
                .unwrap_or_default(),
        };
        let new = match f.change {
            Change::Deleted => Vec::new(),
            _ => fs_err::read(root.join(&rel)).unwrap_or_default(),
        };
        let old_path = (f.change != Change::Added).then_some(rel.as_path());
        let new_path = (f.change != Change::Deleted).then_some(rel.as_path());
        let mut patch = git2::Patch::from_buffers(&old, old_path, &new, new_path, None)
            .map_err(git_err(format!("diffing `{rel_s}`"), root))?;
        let buf = patch
            .to_buf()
            .map_err(git_err(format!("diffing `{rel_s}`"), root))?;
        out.extend_from_slice(&buf);
    }
    Ok(out)
}
