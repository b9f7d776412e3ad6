//! Owns checking, before a vendored copy is staged, that tether's mirror can
//! read every upstream blob the staging writes: both sides of each file that
//! changes between the base and the target. A missing one (a partial clone,
//! a damaged pack) fails naming its path, id and commit, before anything is
//! merged.

use git2::{DiffFile, FileMode, ObjectType, Oid, Repository, TreeWalkMode, TreeWalkResult};

use crate::config::UpstreamConfig;
use crate::update::error::UpdateError;
use crate::upstream::Mirror;

pub(super) fn check_needed_blobs(
    up: &UpstreamConfig,
    mirror: &Mirror,
    from: Oid,
    target: Oid,
) -> Result<(), UpdateError> {
    let repo = mirror.repo();
    let missing = |id: Oid, detail: String| UpdateError::MissingCommit {
        upstream: up.name.clone(),
        commit: id.to_string(),
        detail,
    };
    let tree = |id: Oid| {
        repo.find_commit(id)
            .and_then(|c| c.tree())
            .map_err(|e| missing(id, e.message().to_owned()))
    };
    let (old, new) = (tree(from)?, tree(target)?);
    let diff = repo
        .diff_tree_to_tree(Some(&old), Some(&new), None)
        .map_err(|e| missing(target, e.message().to_owned()))?;
    let odb = repo
        .odb()
        .map_err(|e| missing(target, e.message().to_owned()))?;
    let readable = |f: &DiffFile<'_>| {
        let blob = matches!(
            f.mode(),
            FileMode::Blob
                | FileMode::BlobExecutable
                | FileMode::BlobGroupWritable
                | FileMode::Link
        );
        !(f.exists() && blob) || odb.read_header(f.id()).is_ok()
    };
    for delta in diff.deltas() {
        for (commit, f) in [(from, delta.old_file()), (target, delta.new_file())] {
            if !readable(&f) {
                return Err(UpdateError::UnreadableBlob {
                    upstream: up.name.clone(),
                    path: f
                        .path()
                        .map(|p| p.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                    id: f.id().to_string(),
                    commit: commit.to_string(),
                });
            }
        }
    }
    Ok(())
}

/// Whether a copy from the mirror failed on an object it cannot read.
pub(super) fn is_missing_object(e: &UpdateError) -> bool {
    matches!(e, UpdateError::Git { detail, .. } if detail.contains("object not found"))
}

/// Copies from the mirror into the staged repository only what staging a
/// vendored copy reads: the base and target commits, every tree of both,
/// and both sides of each file that changes between them (the blobs the
/// check above found readable). Files the move leaves alone are the
/// wrapper's own blobs, already there.
pub(super) fn copy_needed(
    mirror: &Repository,
    staged: &Repository,
    from: Oid,
    target: Oid,
) -> Result<(), git2::Error> {
    let (src, dst) = (mirror.odb()?, staged.odb()?);
    let copy = |id: Oid| -> Result<(), git2::Error> {
        if dst.exists(id) {
            return Ok(());
        }
        let obj = src.read(id)?;
        dst.write(obj.kind(), obj.data())?;
        Ok(())
    };
    for commit in [from, target] {
        copy(commit)?;
        let tree = mirror.find_commit(commit)?.tree()?;
        copy(tree.id())?;
        let mut trees = Vec::new();
        tree.walk(TreeWalkMode::PreOrder, |_, e| {
            if e.kind() == Some(ObjectType::Tree) {
                trees.push(e.id());
            }
            TreeWalkResult::Ok
        })?;
        for id in trees {
            copy(id)?;
        }
    }
    let (old, new) = (
        mirror.find_commit(from)?.tree()?,
        mirror.find_commit(target)?.tree()?,
    );
    let diff = mirror.diff_tree_to_tree(Some(&old), Some(&new), None)?;
    for delta in diff.deltas() {
        for f in [delta.old_file(), delta.new_file()] {
            if f.exists() && f.mode() != FileMode::Commit {
                copy(f.id())?;
            }
        }
    }
    Ok(())
}

/// A copy from the mirror that failed on an object the mirror cannot read
/// (one the staging itself does not need, or the check above would have
/// named it): the error names the object, and its path where the base's or
/// the target's tree has it. Other errors are returned as they are.
pub(super) fn explain_unreadable(
    up: &UpstreamConfig,
    mirror: &Mirror,
    from: Oid,
    target: Oid,
    e: UpdateError,
) -> UpdateError {
    let UpdateError::Git { detail, .. } = &e else {
        return e;
    };
    if !detail.contains("object not found") {
        return e;
    }
    let Some(id) = detail
        .split(|c: char| !c.is_ascii_hexdigit())
        .find(|w| w.len() == 40)
        .and_then(|w| Oid::from_str(w).ok())
    else {
        return e;
    };
    let repo = mirror.repo();
    for commit in [target, from] {
        let Ok(tree) = repo.find_commit(commit).and_then(|c| c.tree()) else {
            continue;
        };
        let mut path = None;
        let _ = tree.walk(git2::TreeWalkMode::PreOrder, |dir, entry| {
            if entry.id() == id {
                path = Some(format!("{dir}{}", entry.name().unwrap_or_default()));
                return git2::TreeWalkResult::Abort;
            }
            git2::TreeWalkResult::Ok
        });
        if let Some(path) = path {
            return UpdateError::UnreadableBlob {
                upstream: up.name.clone(),
                path,
                id: id.to_string(),
                commit: commit.to_string(),
            };
        }
    }
    UpdateError::Layout {
        upstream: up.name.clone(),
        detail: format!(
            "tether's mirror cannot read object {id} (a partial clone or a damaged pack), which \
             copying the upstream's history into the staged tree needs; remove the mirror (it is \
             fetched again in full) and retry ({detail})"
        ),
    }
}
