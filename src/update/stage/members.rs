//! Owns one member's part of a staged tree: the staging commit of an
//! upstream the update moves (per layout), the checkout of one that stays,
//! and how the members' outcomes add up.

use std::path::Path;

use git2::{ObjectType, Oid, Repository};
use serde::Serialize;

use super::blobs;
use super::pinned::{PinStep, pinned};
use super::record::update_record_file;
use super::vendored::{UpstreamStep, vendored};
use super::{StageOutcome, clone_upstream, commit_index, gitlink_entry, rel_str};
use crate::config::{Config, Layout};
use crate::merge::MergeSummary;
use crate::update::error::{UpdateError, git_err};
use crate::update::git_ops::short;
use crate::update::member::Member;

/// One upstream of a staged tree and the commit it is staged at.
#[derive(Clone, Copy)]
pub struct StageMember<'a> {
    pub member: Member<'a>,
    pub target: Oid,
    /// Whether the update moves it (one staging commit); `false`: a group
    /// member that stays at its current commit, only checked out in the
    /// staged tree for the baseline.
    pub moves: bool,
}

/// One member's staging commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemberCommit {
    pub upstream: String,
    pub target: String,
    /// `None`: no wrapper file had to change.
    pub commit: Option<String>,
}

/// Where a moving member starts: its current commit, in the update `id`.
#[derive(Clone, Copy)]
pub(super) struct FromCommit<'a> {
    pub(super) commit: &'a str,
    pub(super) update_id: &'a str,
}

/// One moving member's staging commit on the staged branch's HEAD.
pub(super) fn stage_member(
    cfg: &Config,
    m: &StageMember<'_>,
    from: FromCommit<'_>,
    repo: &Repository,
    dir: &Path,
    notes: &mut Vec<String>,
    merge: &mut Option<MergeSummary>,
) -> Result<StageOutcome, UpdateError> {
    let (up, mirror, target) = (m.member.up, m.member.mirror, m.target);
    let upstream_dir = dir.join(&up.path);
    let mut message = format!("chore(upstream): bump {} to {}", up.name, short(target));
    if up.layout == Layout::Vendored
        && !up.record_file_configured
        && crate::upstream::subtree_base(repo, &up.path).is_some()
    {
        // the subtree flavour: the next read finds the new base here
        message = format!(
            "{message}\n\n{}",
            crate::upstream::subtree_trailers(&up.path, target)
        );
    }
    let head_tree = repo
        .head()
        .and_then(|h| h.peel_to_commit())
        .and_then(|c| c.tree())
        .map_err(git_err("reading HEAD's tree", dir))?;
    let outcome = match up.layout {
        Layout::Submodule => {
            match head_tree.get_path(&up.path) {
                Ok(e) if e.kind() == Some(ObjectType::Commit) => {}
                _ => {
                    return Err(UpdateError::Layout {
                        upstream: up.name.clone(),
                        detail: format!(
                            "the wrapper's HEAD has no submodule at `{}`",
                            up.path.display()
                        ),
                    });
                }
            }
            clone_upstream(mirror, &upstream_dir, target)?;
            let mut index = repo.index().map_err(git_err("reading the index", dir))?;
            let rel = rel_str(&up.path);
            index
                .add(&gitlink_entry(&rel, target))
                .map_err(git_err("writing the submodule commit into the index", dir))?;
            let mut files = vec![rel];
            if let Some(f) = update_record_file(up, dir, &head_tree, target, notes)? {
                index
                    .add_path(Path::new(&f))
                    .map_err(git_err("adding the record file", dir))?;
                files.push(f);
            }
            commit_index(cfg, repo, dir, &mut index, &message, files)?
        }
        Layout::Clone => {
            clone_upstream(mirror, &upstream_dir, target)?;
            match update_record_file(up, dir, &head_tree, target, notes)? {
                Some(f) => {
                    let mut index = repo.index().map_err(git_err("reading the index", dir))?;
                    index
                        .add_path(Path::new(&f))
                        .map_err(git_err("adding the record file", dir))?;
                    commit_index(cfg, repo, dir, &mut index, &message, vec![f])?
                }
                None => StageOutcome::NothingToCommit,
            }
        }
        Layout::Vendored => {
            let from = Oid::from_str(from.commit)
                .map_err(git_err("reading the recorded upstream commit", dir))?;
            blobs::check_needed_blobs(up, mirror, from, target)?;
            let step = UpstreamStep {
                from,
                target,
                message: &message,
            };
            let (outcome, summary) = vendored(cfg, up, mirror, repo, dir, &head_tree, &step)
                .map_err(|e| blobs::explain_unreadable(up, mirror, from, target, e))?;
            *merge = Some(summary);
            outcome
        }
        Layout::Pinned => {
            let step = PinStep {
                target,
                message: &message,
                update_id: from.update_id,
            };
            pinned(cfg, up, mirror, repo, dir, &step)?
        }
    };
    Ok(outcome)
}

/// A member the update does not move: its checkout (submodule and clone
/// layouts) in the staged tree at its current commit, nothing committed.
pub(super) fn materialise(m: &StageMember<'_>, dir: &Path) -> Result<(), UpdateError> {
    match m.member.up.layout {
        Layout::Vendored => Ok(()),
        Layout::Submodule | Layout::Clone | Layout::Pinned => {
            clone_upstream(m.member.mirror, &dir.join(&m.member.up.path), m.target)
        }
    }
}

/// The staged tree's outcome after one more member's: commits add up
/// (the last commit, every file), a conflict ends it.
pub(super) fn combine(acc: StageOutcome, next: StageOutcome) -> StageOutcome {
    match (acc, next) {
        (c @ StageOutcome::Conflicts { .. }, _) | (_, c @ StageOutcome::Conflicts { .. }) => c,
        (StageOutcome::NothingToCommit, n) => n,
        (a, StageOutcome::NothingToCommit) => a,
        (
            StageOutcome::Committed {
                message: m1,
                files: f1,
                ..
            },
            StageOutcome::Committed {
                commit,
                message,
                files,
            },
        ) => StageOutcome::Committed {
            commit,
            message: format!("{m1}\n{message}"),
            files: f1.into_iter().chain(files).collect(),
        },
    }
}
