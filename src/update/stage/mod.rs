//! Owns the staged tree: a local git2 clone of the live wrapper at
//! `<state>/update/<id>/staged/` (never a worktree of the live repository,
//! so the live `.git` is untouched until promotion), on branch
//! `tether/update-<id>` from the live HEAD, with the upstream moved to the
//! target and committed per layout, and the live tree's uncommitted files
//! copied in (the pinned layout: `pinned`). Also owns the record-file rewrite and committing in the staged
//! tree (for fixes).

use std::path::{Path, PathBuf};

use git2::build::{CheckoutBuilder, RepoBuilder};
use git2::{Oid, Repository};
use serde::Serialize;

use super::backup::Backup;
use super::error::{UpdateError, git_err, io_err};
use super::git_ops::{fetch_local, has_commit};
use super::journal::{UpdatePaths, staged_branch};
use super::member::Member;
use crate::config::{Config, UpstreamConfig};
use crate::merge::{ConflictHunk, MergeSummary};
use crate::state::StateDir;
use crate::upstream::Mirror;

mod blobs;
mod commit;
mod conflicts;
mod members;
mod pinned;
mod record;
mod vendored;

use commit::commit_tree;
pub(crate) use commit::gitlink_entry;
pub use commit::{commit_files, drop_last_commit};
pub use conflicts::{
    ConflictVersions, MarkedHunk, MarkerLine, changed_in_staged, commit_resolution,
    conflict_versions, hunks_in, marker_lines_in, markers_left,
};
pub use members::{MemberCommit, StageMember};
use members::{combine, materialise, stage_member};
pub use record::update_record_text;

const GITLINK: u32 = 0o160000;
const TREE: i32 = 0o040000;
const BLOB: i32 = 0o100644;
/// Where the mirror's branches and tags land in the staged clone.
const UPSTREAM_REFS: [&str; 2] = [
    "+refs/heads/*:refs/tether/upstream/heads/*",
    "+refs/tags/*:refs/tether/upstream/tags/*",
];

/// The staged tree after staging.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Staged {
    /// The staged wrapper's root.
    pub dir: PathBuf,
    /// The staged clone's branch (`tether/update-<id>`).
    pub branch: String,
    /// The live HEAD it started from.
    pub base: String,
    /// The staged branch's head (equal to `base` when nothing was committed).
    pub head: String,
    /// The staged upstream: `<dir>/<path>`.
    pub upstream_dir: PathBuf,
    pub target: String,
    pub outcome: StageOutcome,
    /// Things worth knowing (e.g. no record file to update).
    pub notes: Vec<String>,
    /// How the vendored copy's 3-way merge went, file by file (vendored
    /// layout only).
    pub merge: Option<MergeSummary>,
    /// A group update: each moving member's staging commit, in order
    /// (empty for a single upstream).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<MemberCommit>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StageOutcome {
    /// The upstream move was committed on the staged branch.
    Committed {
        commit: String,
        message: String,
        /// Wrapper files the commit changed (relative to the root).
        files: Vec<String>,
    },
    /// The upstream checkout moved but no wrapper file had to change (clone
    /// layout without a record file).
    NothingToCommit,
    /// The upstream change does not merge with the wrapper's; nothing was
    /// committed and the staged files hold conflict markers (for a vendored
    /// merge, beside the rest of the merge and the rewritten record file,
    /// uncommitted: see [`Staged::is_merge_conflict`]).
    Conflicts { files: Vec<ConflictFile> },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConflictFile {
    /// Relative to the wrapper root.
    pub path: String,
    pub reason: String,
    /// The regions between conflict markers in the staged file (none when
    /// the file holds one side whole).
    pub hunks: Vec<ConflictHunk>,
}

impl Staged {
    /// Whether staging stopped in a merge conflict that can be resolved in
    /// the staged tree (nothing committed: the staged head is the live
    /// HEAD), rather than a clash with the live tree's uncommitted files
    /// (the staging commit was made).
    pub fn is_merge_conflict(&self) -> bool {
        matches!(self.outcome, StageOutcome::Conflicts { .. }) && self.head == self.base
    }
}

/// Builds the staged tree of update `backup.id` with `up` at `target`.
/// Reads the live wrapper only.
pub fn stage(
    cfg: &Config,
    up: &UpstreamConfig,
    mirror: &Mirror,
    backup: &Backup,
    target: Oid,
) -> Result<Staged, UpdateError> {
    let member = StageMember {
        member: Member { up, mirror },
        target,
        moves: true,
    };
    stage_group(cfg, &[member], backup)
}

/// Builds the staged tree of update `backup.id` with every member at its
/// target: one staging commit per moving member (`chore(upstream): bump
/// <name> to <short>`), in order, on one staged branch. The first moving
/// member is the staged tree's `upstream_dir`. Reads the live wrapper only.
pub fn stage_group(
    cfg: &Config,
    members: &[StageMember<'_>],
    backup: &Backup,
) -> Result<Staged, UpdateError> {
    let state = StateDir::new(&cfg.project.state_dir);
    let dir = UpdatePaths::new(&state).staged_dir(&backup.id);
    let branch = staged_branch(&backup.id);
    let base = Oid::from_str(&backup.head).map_err(git_err("reading the backed-up HEAD", &dir))?;
    for m in members {
        if !has_commit(m.member.mirror.repo(), m.target) {
            return Err(UpdateError::MissingCommit {
                upstream: m.member.up.name.clone(),
                commit: m.target.to_string(),
                detail: "fetch the upstream first".into(),
            });
        }
    }
    let repo = clone_wrapper(&backup.wrapper_root, &dir, base, &branch)?;
    crate::failpoint::hit("update.stage.cloned");
    let lead = members.iter().find(|m| m.moves).or(members.first());
    let upstream_dir = lead.map_or_else(|| dir.clone(), |m| dir.join(&m.member.up.path));
    let mut notes = Vec::new();
    let mut merge = None;
    let mut commits = Vec::new();
    let mut outcome = StageOutcome::NothingToCommit;
    // a member inside another's path (a node pack under the core's
    // `custom_nodes/`) comes after it: checking the outer one out clears
    // its folder; otherwise the group's order
    let mut ordered: Vec<&StageMember<'_>> = members.iter().collect();
    ordered.sort_by_key(|m| m.member.up.path.components().count());
    for m in ordered {
        let one = if m.moves {
            let from = backup
                .member(&m.member.up.name)
                .map(|b| b.upstream_commit)
                .unwrap_or_else(|| backup.upstream_commit.clone());
            stage_member(
                cfg,
                m,
                members::FromCommit {
                    commit: &from,
                    update_id: &backup.id,
                },
                &repo,
                &dir,
                &mut notes,
                &mut merge,
            )?
        } else {
            materialise(m, &dir)?;
            continue;
        };
        commits.push(MemberCommit {
            upstream: m.member.up.name.clone(),
            target: m.target.to_string(),
            commit: match &one {
                StageOutcome::Committed { commit, .. } => Some(commit.clone()),
                _ => None,
            },
        });
        outcome = combine(outcome, one);
        if matches!(outcome, StageOutcome::Conflicts { .. }) {
            break;
        }
    }
    let head = repo
        .head()
        .and_then(|h| h.peel_to_commit())
        .map_err(git_err("reading the staged HEAD", &dir))?
        .id();
    // Uncommitted files of the live tree come along, uncommitted; one the
    // staging commit also changed would block the promotion's checkout.
    let outcome = match outcome {
        StageOutcome::Committed {
            commit,
            message,
            files,
        } => {
            let clashes: Vec<ConflictFile> = backup
                .dirty
                .iter()
                .filter(|d| files.iter().any(|f| f == &d.path || d.path.starts_with(&format!("{f}/"))))
                .map(|d| ConflictFile {
                    path: d.path.clone(),
                    reason: format!(
                        "has uncommitted changes ({}) in the live wrapper and the update changes it",
                        d.status
                    ),
                    hunks: Vec::new(),
                })
                .collect();
            if clashes.is_empty() {
                StageOutcome::Committed {
                    commit,
                    message,
                    files,
                }
            } else {
                StageOutcome::Conflicts { files: clashes }
            }
        }
        other => other,
    };
    let skip: Vec<String> = match &outcome {
        StageOutcome::Conflicts { files } => files.iter().map(|c| c.path.clone()).collect(),
        _ => Vec::new(),
    };
    copy_dirty(backup, &dir, &skip)?;
    Ok(Staged {
        dir,
        branch,
        base: base.to_string(),
        head: head.to_string(),
        upstream_dir,
        target: lead.map(|m| m.target.to_string()).unwrap_or_default(),
        outcome,
        notes,
        merge,
        members: if members.len() > 1 {
            commits
        } else {
            Vec::new()
        },
    })
}

/// Clones the live wrapper into `dir` (replacing a leftover) and checks out
/// a new branch `branch` at `base`. The clone keeps no remote, so nothing in
/// the staged tree can push into the live repository.
fn clone_wrapper(
    root: &Path,
    dir: &Path,
    base: Oid,
    branch: &str,
) -> Result<Repository, UpdateError> {
    if dir.exists() {
        fs_err::remove_dir_all(dir).map_err(io_err("remove the old staged tree", dir))?;
    }
    if let Some(parent) = dir.parent() {
        fs_err::create_dir_all(parent).map_err(io_err("create", parent))?;
    }
    let action = format!("cloning the wrapper `{}`", root.display());
    let repo = RepoBuilder::new()
        .clone(&root.to_string_lossy(), dir)
        .map_err(git_err(&action, dir))?;
    if !has_commit(&repo, base) {
        // a detached HEAD on no branch: fetch it by name
        fetch_local(&repo, dir, root, &["+HEAD:refs/tether/live-head"])?;
    }
    {
        let commit = repo
            .find_commit(base)
            .map_err(git_err(format!("finding the live HEAD {base}"), dir))?;
        repo.branch(branch, &commit, true)
            .map_err(git_err(format!("creating branch {branch}"), dir))?;
    }
    repo.set_head(&format!("refs/heads/{branch}"))
        .map_err(git_err(format!("switching to {branch}"), dir))?;
    repo.checkout_head(Some(CheckoutBuilder::new().force()))
        .map_err(git_err("checking out the live HEAD", dir))?;
    let _ = repo.remote_delete("origin");
    let _ = repo
        .find_reference("refs/tether/live-head")
        .map(|mut r| r.delete());
    Ok(repo)
}

/// Clones tether's mirror into `dest` and checks out `target` detached.
fn clone_upstream(mirror: &Mirror, dest: &Path, target: Oid) -> Result<(), UpdateError> {
    if dest.exists() {
        fs_err::remove_dir_all(dest).map_err(io_err("clear", dest))?;
    }
    let action = format!(
        "cloning the upstream from tether's mirror `{}`",
        mirror.path().display()
    );
    let repo = RepoBuilder::new()
        .clone(&mirror.path().to_string_lossy(), dest)
        .map_err(git_err(&action, dest))?;
    if !has_commit(&repo, target) {
        fetch_local(&repo, dest, mirror.path(), &["+refs/tags/*:refs/tags/*"])?;
    }
    repo.set_head_detached(target)
        .map_err(git_err(format!("checking out {target}"), dest))?;
    repo.checkout_head(Some(CheckoutBuilder::new().force()))
        .map_err(git_err(format!("checking out {target}"), dest))?;
    Ok(())
}

fn copy_dirty(backup: &Backup, dir: &Path, skip: &[String]) -> Result<(), UpdateError> {
    if skip.is_empty() {
        return backup.copy_dirty_into(dir);
    }
    let mut rest = backup.clone();
    rest.dirty.retain(|d| !skip.contains(&d.path));
    rest.copy_dirty_into(dir)
}

/// Writes `index` and commits its tree as the staging commit of `files`.
fn commit_index(
    cfg: &Config,
    repo: &Repository,
    dir: &Path,
    index: &mut git2::Index,
    message: &str,
    files: Vec<String>,
) -> Result<StageOutcome, UpdateError> {
    index.write().map_err(git_err("writing the index", dir))?;
    let tree = index.write_tree().map_err(git_err("writing a tree", dir))?;
    let commit = commit_tree(cfg, repo, dir, tree, message)?;
    Ok(StageOutcome::Committed {
        commit: commit.to_string(),
        message: message.to_owned(),
        files,
    })
}

/// A relative path as `/`-separated text.
fn rel_str(p: &Path) -> String {
    p.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

fn components(rel: &str) -> Vec<&str> {
    rel.split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect()
}
