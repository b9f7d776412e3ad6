//! The vendored layout's staging: a 3-way merge of the wrapper's copy with
//! the upstream's move (`crate::merge`: by lines, by Python definitions, by
//! JSON keys), and the conflicts it leaves, written with markers.

use std::path::Path;

use git2::{ObjectType, Oid, Repository, Tree};

use git2::build::CheckoutBuilder;

use super::commit::commit_tree;
use super::record::update_record_file;
use super::{BLOB, ConflictFile, StageOutcome, TREE, UPSTREAM_REFS, components, rel_str};
use crate::config::{Config, UpstreamConfig};
use crate::merge::{Labels, MergeSummary, TreeConflict, merge_trees};
use crate::update::error::{UpdateError, git_err, io_err};
use crate::update::git_ops::{fetch_local, short};
use crate::upstream::Mirror;

/// The upstream's move a staging commit records.
pub(super) struct UpstreamStep<'a> {
    /// The recorded commit (the merge base).
    pub(super) from: Oid,
    pub(super) target: Oid,
    /// The staging commit's message.
    pub(super) message: &'a str,
}

/// The vendored layout: a 3-way merge of the wrapper's copy (ours) with the
/// upstream's move from the recorded commit (base) to `target` (theirs).
pub(super) fn vendored(
    cfg: &Config,
    up: &UpstreamConfig,
    mirror: &Mirror,
    repo: &Repository,
    dir: &Path,
    head_tree: &Tree<'_>,
    step: &UpstreamStep<'_>,
) -> Result<(StageOutcome, MergeSummary), UpdateError> {
    let UpstreamStep {
        from,
        target,
        message,
    } = *step;
    if let Err(e) = fetch_local(repo, dir, mirror.path(), &UPSTREAM_REFS) {
        // a mirror missing an object somewhere in its history (a partial
        // clone, a damaged pack) cannot be copied whole: copy what the
        // merge needs, which the blob check found readable
        if !super::blobs::is_missing_object(&e) {
            return Err(e);
        }
        tracing::warn!(upstream = %up.name, error = %e, "copying only what the merge needs");
        super::blobs::copy_needed(mirror.repo(), repo, from, target).map_err(git_err(
            "copying the upstream's base and target from the mirror",
            dir,
        ))?;
    }
    let tree_of = |id: Oid| {
        repo.find_commit(id)
            .and_then(|c| c.tree())
            .map_err(|e| UpdateError::MissingCommit {
                upstream: up.name.clone(),
                commit: id.to_string(),
                detail: e.message().to_owned(),
            })
    };
    let base_tree = tree_of(from)?;
    let their_tree = tree_of(target)?;
    let our_tree = head_tree
        .get_path(&up.path)
        .and_then(|e| e.to_object(repo))
        .and_then(|o| o.peel_to_tree())
        .map_err(|e| UpdateError::Layout {
            upstream: up.name.clone(),
            detail: format!(
                "`{}` is not a committed folder in the wrapper's HEAD: {}",
                up.path.display(),
                e.message()
            ),
        })?;
    let theirs_label = format!("upstream {}", short(target));
    let labels = Labels {
        ours: "wrapper",
        theirs: &theirs_label,
        base: "base",
    };
    let merged = merge_trees(repo, &base_tree, &our_tree, &their_tree, &labels)
        .map_err(git_err("merging the upstream change", dir))?;
    let prefix = rel_str(&up.path);
    let mut summary = merged.summary.clone();
    for n in &mut summary.notes {
        n.path = format!("{prefix}/{}", n.path);
    }
    let Some(sub) = merged.tree else {
        // the staged tree holds the whole merge, conflicted files with
        // markers, and the record rewritten: `--continue` commits it all
        let clean = merged
            .clean_part
            .and_then(|id| repo.find_tree(id).ok())
            .ok_or_else(|| UpdateError::Layout {
                upstream: up.name.clone(),
                detail: "the merge left conflicts but no merged tree".into(),
            })?;
        let conflicted = merged.conflicts.iter().map(|c| c.path.clone()).collect();
        super::conflicts::write_clean_merge(repo, dir, &prefix, &clean, &conflicted, &our_tree)?;
        let files = write_conflicts(dir, &prefix, &merged.conflicts)?;
        update_record_file(up, dir, head_tree, target, &mut Vec::new())?;
        return Ok((StageOutcome::Conflicts { files }, summary));
    };
    let comps = components(&prefix);
    let mut root = replace_path(repo, Some(head_tree), &comps, sub, TREE)
        .map_err(git_err("writing the new tree", dir))?;
    let mut notes = Vec::new();
    let mut files = changed_files(repo, head_tree.id(), root, dir)?;
    let root_tree = repo
        .find_tree(root)
        .map_err(git_err("reading a tree", dir))?;
    if let Some(rel) = update_record_file(up, dir, &root_tree, target, &mut notes)? {
        let bytes = fs_err::read(dir.join(&rel)).map_err(io_err("read", dir.join(&rel)))?;
        let blob = repo
            .blob(&bytes)
            .map_err(git_err("writing the record file", dir))?;
        let mode = root_tree
            .get_path(Path::new(&rel))
            .map(|e| e.filemode())
            .unwrap_or(BLOB);
        root = replace_path(repo, Some(&root_tree), &components(&rel), blob, mode)
            .map_err(git_err("writing the new tree", dir))?;
        if !files.contains(&rel) {
            files.push(rel);
            files.sort();
        }
    }
    commit_tree(cfg, repo, dir, root, message)?;
    // the record file was written already; the rest comes from the commit
    repo.checkout_head(Some(CheckoutBuilder::new().force()))
        .map_err(git_err("checking out the staged commit", dir))?;
    let commit = repo
        .head()
        .and_then(|h| h.peel_to_commit())
        .map_err(git_err("reading the staged HEAD", dir))?;
    // The checkout leaves index entries alone where the working tree already
    // matched the commit (the record file): make the index the commit's tree,
    // or the next commit built from the index (a fix) would revert them.
    let mut index = repo.index().map_err(git_err("reading the index", dir))?;
    commit
        .tree()
        .and_then(|t| index.read_tree(&t))
        .and_then(|()| index.write())
        .map_err(git_err("writing the staged commit's index", dir))?;
    let commit = commit.id();
    Ok((
        StageOutcome::Committed {
            commit: commit.to_string(),
            message: message.to_owned(),
            files,
        },
        summary,
    ))
}

/// Writes each conflicted file into the staged tree with conflict markers
/// (or the side that still exists) and lists it.
fn write_conflicts(
    dir: &Path,
    prefix: &str,
    conflicts: &[TreeConflict],
) -> Result<Vec<ConflictFile>, UpdateError> {
    let mut out = Vec::new();
    for c in conflicts {
        let rel = format!("{prefix}/{}", c.path);
        let path = dir.join(&rel);
        if let Some(parent) = path.parent() {
            fs_err::create_dir_all(parent).map_err(io_err("create", parent))?;
        }
        fs_err::write(&path, &c.content).map_err(io_err("write conflict markers into", &path))?;
        out.push(ConflictFile {
            path: rel,
            reason: c.reason.to_string(),
            hunks: c.hunks.clone(),
        });
    }
    Ok(out)
}

/// Files that differ between two trees (relative paths).
fn changed_files(
    repo: &Repository,
    old: Oid,
    new: Oid,
    dir: &Path,
) -> Result<Vec<String>, UpdateError> {
    let err = git_err("comparing trees", dir);
    let old = repo.find_tree(old).map_err(&err)?;
    let new = repo.find_tree(new).map_err(&err)?;
    let diff = repo
        .diff_tree_to_tree(Some(&old), Some(&new), None)
        .map_err(&err)?;
    let mut files: Vec<String> = diff
        .deltas()
        .filter_map(|d| d.new_file().path().or(d.old_file().path()).map(rel_str))
        .collect();
    files.sort();
    files.dedup();
    Ok(files)
}

/// A copy of `tree` with the entry at `comps` set to `id` (folders created).
fn replace_path(
    repo: &Repository,
    tree: Option<&Tree<'_>>,
    comps: &[&str],
    id: Oid,
    mode: i32,
) -> Result<Oid, git2::Error> {
    let mut b = repo.treebuilder(tree)?;
    match comps {
        [] => return Err(git2::Error::from_str("empty path")),
        [last] => {
            b.insert(last, id, mode)?;
        }
        [first, rest @ ..] => {
            let sub = match tree.and_then(|t| t.get_name(first)) {
                Some(e) if e.kind() == Some(ObjectType::Tree) => Some(repo.find_tree(e.id())?),
                _ => None,
            };
            let new = replace_path(repo, sub.as_ref(), rest, id, mode)?;
            b.insert(first, new, TREE)?;
        }
    }
    b.write()
}
