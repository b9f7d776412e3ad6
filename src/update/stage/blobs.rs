//! Owns checking, before a vendored copy is staged, that tether's mirror can
//! read every upstream blob the staging writes: both sides of each file that
//! changes between the base and the target. A missing one (a partial clone,
//! a damaged pack) fails naming its path, id and commit, before anything is
//! merged.

use git2::{DiffFile, FileMode, Oid};

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
