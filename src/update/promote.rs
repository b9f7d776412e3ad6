//! Owns promotion: moving the live wrapper to the staged head once the
//! baseline passed. The live repository fetches the staged branch, checks it
//! out safely (uncommitted files are never overwritten; a clash stops before
//! anything changes) and fast-forwards its branch; for the submodule and
//! clone layouts the live upstream checkout is then moved to the target
//! from tether's mirror. `plan_promotion` says what would happen without
//! doing it (for `--dry-run`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use git2::{Oid, Repository};
use serde::Serialize;

use super::error::{UpdateError, git_err};
use super::git_ops::{
    changed_paths, check_clean, fetch_local, has_commit, head_of, open_here, safe_checkout,
};
use super::journal::{Journal, JournalState};
use crate::config::{Layout, UpstreamConfig};
use crate::state::StateDir;
use crate::upstream::{CommitInfo, Mirror};

/// Temporary refs the upstream checkout fetches the mirror into.
const UPSTREAM_NS: &str = "refs/tether/upstream/";
const UPSTREAM_REFS: [&str; 2] = [
    "+refs/heads/*:refs/tether/upstream/heads/*",
    "+refs/tags/*:refs/tether/upstream/tags/*",
];

/// What a promotion does (or did).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PromotionPlan {
    pub live_root: PathBuf,
    /// The live branch that moves (`refs/heads/...`); `None`: detached HEAD.
    pub branch: Option<String>,
    /// The live HEAD now.
    pub from: String,
    /// The staged head it moves to (equal to `from` when nothing was committed).
    pub to: String,
    /// The staged commits, oldest first.
    pub commits: Vec<CommitInfo>,
    /// Wrapper files the commits change (relative to the root).
    pub files: Vec<String>,
    /// Submodule and clone layouts: the live upstream checkout's move.
    pub upstream_checkout: Option<CheckoutMove>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckoutMove {
    pub path: PathBuf,
    /// Its HEAD now; `None` when it is not checked out.
    pub from: Option<String>,
    pub to: String,
}

/// The result of a promotion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Promotion {
    pub plan: PromotionPlan,
    pub notes: Vec<String>,
}

/// What promoting the journal's staged branch would do. Reads only.
pub fn plan_promotion(
    up: &UpstreamConfig,
    journal: &Journal,
) -> Result<PromotionPlan, UpdateError> {
    let sdir = &journal.staged_dir;
    let staged = Repository::open(sdir).map_err(git_err("opening the staged tree", sdir))?;
    let to = staged_head(&staged, sdir, &journal.staged_branch)?;
    let from = Oid::from_str(&journal.live_head).map_err(git_err("reading the live HEAD", sdir))?;
    let mut commits = Vec::new();
    let mut files = Vec::new();
    if to != from {
        let err = git_err("listing the staged commits", sdir);
        let mut walk = staged.revwalk().map_err(&err)?;
        walk.push(to).map_err(&err)?;
        walk.hide(from).map_err(&err)?;
        walk.set_sorting(git2::Sort::TOPOLOGICAL | git2::Sort::REVERSE)
            .map_err(&err)?;
        for id in walk {
            let c = staged.find_commit(id.map_err(&err)?).map_err(&err)?;
            commits.push(CommitInfo::from_commit(&c));
        }
        let old = staged
            .find_commit(from)
            .and_then(|c| c.tree())
            .map_err(&err)?;
        let new = staged
            .find_commit(to)
            .and_then(|c| c.tree())
            .map_err(&err)?;
        let diff = staged
            .diff_tree_to_tree(Some(&old), Some(&new), None)
            .map_err(&err)?;
        files = diff
            .deltas()
            .filter_map(|d| d.new_file().path().or(d.old_file().path()))
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        files.sort();
        files.dedup();
    }
    let upstream_checkout = match up.layout {
        Layout::Vendored => None,
        Layout::Submodule | Layout::Clone => {
            let path = journal.live_root.join(&up.path);
            let from = open_here(&path)
                .ok()
                .and_then(|r| r.head().ok().and_then(|h| h.target()))
                .map(|id| id.to_string());
            Some(CheckoutMove {
                path,
                from,
                to: journal.to.clone(),
            })
        }
    };
    Ok(PromotionPlan {
        live_root: journal.live_root.clone(),
        branch: journal.live_branch.clone(),
        from: from.to_string(),
        to: to.to_string(),
        commits,
        files,
        upstream_checkout,
    })
}

/// Promotes the journal's staged branch into the live wrapper: checks the
/// live HEAD and branch are still what the backup saw, checks every checkout
/// would succeed, journals `Promoting`, moves the wrapper and then the
/// upstream checkout, and journals `Promoted`. The journal is not archived.
pub fn promote(
    up: &UpstreamConfig,
    mirror: &Mirror,
    journal: &mut Journal,
    state: &StateDir,
) -> Result<Promotion, UpdateError> {
    let plan = plan_promotion(up, journal)?;
    let root = journal.live_root.clone();
    let live = open_here(&root).map_err(git_err("opening the live wrapper", &root))?;
    let (head, branch) = head_of(&live, &root)?;
    if head.to_string() != journal.live_head {
        return Err(UpdateError::LiveMoved {
            root,
            what: "HEAD".into(),
            expected: journal.live_head.clone(),
            found: head.to_string(),
        });
    }
    if branch != journal.live_branch {
        return Err(UpdateError::LiveMoved {
            root,
            what: "the checked-out branch".into(),
            expected: journal
                .live_branch
                .clone()
                .unwrap_or_else(|| "a detached HEAD".into()),
            found: branch.unwrap_or_else(|| "a detached HEAD".into()),
        });
    }
    let to = Oid::from_str(&plan.to).map_err(git_err("reading the staged head", &root))?;
    let target = Oid::from_str(&journal.to).map_err(git_err("reading the target", &root))?;
    let mut notes = Vec::new();

    // Everything that can fail is checked before anything changes.
    let changed: BTreeSet<String> = plan.files.iter().cloned().collect();
    check_clean(&live, &root, &changed)?;
    let checkout = match up.layout {
        Layout::Vendored => None,
        Layout::Submodule | Layout::Clone => {
            inspect_upstream(up, mirror, &root, target, &mut notes)?
        }
    };

    journal.staged_head = Some(plan.to.clone());
    journal.advance(state, JournalState::Promoting, None)?;
    if to != head {
        let tmp = staged_ref(&journal.id);
        let spec = format!("+refs/heads/{}:{tmp}", journal.staged_branch);
        fetch_local(&live, &root, &journal.staged_dir, &[spec.as_str()])?;
        move_wrapper(&live, &root, to, branch.as_deref(), &journal.id)?;
    }
    if let Some((repo, path)) = &checkout {
        fetch_target(up, mirror, repo, path, target)?;
        move_upstream(up, repo, path, target)?;
    }
    journal.advance(
        state,
        JournalState::Promoted,
        Some(format!("wrapper at {}", &plan.to)),
    )?;
    Ok(Promotion { plan, notes })
}

/// Finishes a promotion a crash interrupted after the live branch (or its
/// files) moved: moves the branch if only the files did, and the upstream
/// checkout. Idempotent.
pub(crate) fn complete(
    up: &UpstreamConfig,
    mirror: Option<&Mirror>,
    journal: &Journal,
    staged_head: Oid,
) -> Result<Vec<String>, UpdateError> {
    let root = &journal.live_root;
    let live = open_here(root).map_err(git_err("opening the live wrapper", root))?;
    let (head, branch) = head_of(&live, root)?;
    let mut notes = Vec::new();
    if head != staged_head {
        set_head(&live, root, staged_head, branch.as_deref(), &journal.id)?;
        notes.push(format!("moved the wrapper's HEAD to {staged_head}"));
    }
    drop_ref(&live, &staged_ref(&journal.id));
    if up.layout != Layout::Vendored {
        let target = Oid::from_str(&journal.to).map_err(git_err("reading the target", root))?;
        match mirror {
            Some(m) => {
                if let Some((repo, path)) = inspect_upstream(up, m, root, target, &mut notes)? {
                    let before = repo.head().ok().and_then(|h| h.target());
                    fetch_target(up, m, &repo, &path, target)?;
                    move_upstream(up, &repo, &path, target)?;
                    if before != Some(target) {
                        notes.push(format!("moved {} to {target}", path.display()));
                    }
                }
            }
            None => notes.push(format!(
                "tether's mirror of `{}` is missing; move {} to {target} by hand",
                up.name,
                root.join(&up.path).display()
            )),
        }
    }
    Ok(notes)
}

/// The staged branch's head.
pub(crate) fn staged_head(repo: &Repository, dir: &Path, branch: &str) -> Result<Oid, UpdateError> {
    repo.find_reference(&format!("refs/heads/{branch}"))
        .and_then(|r| r.peel_to_commit())
        .map(|c| c.id())
        .map_err(git_err(format!("reading staged branch {branch}"), dir))
}

fn staged_ref(id: &str) -> String {
    format!("refs/tether/staged/{id}")
}

/// Checks out `to` safely, then moves the branch (or detached HEAD).
fn move_wrapper(
    live: &Repository,
    root: &Path,
    to: Oid,
    branch: Option<&str>,
    id: &str,
) -> Result<(), UpdateError> {
    safe_checkout(live, root, to)?;
    set_head(live, root, to, branch, id)?;
    drop_ref(live, &staged_ref(id));
    Ok(())
}

fn set_head(
    live: &Repository,
    root: &Path,
    to: Oid,
    branch: Option<&str>,
    id: &str,
) -> Result<(), UpdateError> {
    let msg = format!("tether: promote update {id}");
    match branch {
        Some(b) => {
            let mut r = live
                .find_reference(b)
                .map_err(git_err(format!("reading {b}"), root))?;
            r.set_target(to, &msg)
                .map_err(git_err(format!("fast-forwarding {b}"), root))?;
        }
        None => live
            .set_head_detached(to)
            .map_err(git_err("moving the detached HEAD", root))?,
    }
    Ok(())
}

/// Opens the live upstream checkout and checks that moving it to `target`
/// touches none of its uncommitted changes. `None` (with a note) when a
/// submodule is not checked out.
fn inspect_upstream(
    up: &UpstreamConfig,
    mirror: &Mirror,
    root: &Path,
    target: Oid,
    notes: &mut Vec<String>,
) -> Result<Option<(Repository, PathBuf)>, UpdateError> {
    let path = root.join(&up.path);
    let repo = match open_here(&path) {
        Ok(r) => r,
        Err(e) if up.layout == Layout::Submodule => {
            notes.push(format!(
                "submodule {} is not checked out ({}); run `git submodule update` to get {target}",
                path.display(),
                e.message()
            ));
            return Ok(None);
        }
        Err(e) => return Err(git_err("opening the upstream clone", &path)(e)),
    };
    let (head, _) = head_of(&repo, &path)?;
    if head != target {
        let changed = if has_commit(mirror.repo(), head) {
            changed_paths(mirror.repo(), mirror.path(), head, target)?
        } else {
            // a local commit tether's mirror lacks: compare in the checkout
            fetch_target(up, mirror, &repo, &path, target)?;
            changed_paths(&repo, &path, head, target)?
        };
        check_clean(&repo, &path, &changed)?;
    }
    Ok(Some((repo, path)))
}

/// Makes sure the upstream checkout has `target`, fetching tether's mirror
/// into it (through temporary refs, removed again) when it does not.
fn fetch_target(
    up: &UpstreamConfig,
    mirror: &Mirror,
    repo: &Repository,
    path: &Path,
    target: Oid,
) -> Result<(), UpdateError> {
    if !has_commit(repo, target) {
        fetch_local(repo, path, mirror.path(), &UPSTREAM_REFS)?;
        drop_namespace(repo, UPSTREAM_NS);
    }
    if !has_commit(repo, target) {
        return Err(UpdateError::MissingCommit {
            upstream: up.name.clone(),
            commit: target.to_string(),
            detail: format!("not found after fetching it into {}", path.display()),
        });
    }
    Ok(())
}

/// Checks out `target` in the upstream checkout: a submodule is left
/// detached (as `git submodule update` does); a clone on a branch that
/// `target` descends from fast-forwards that branch, else it is detached.
fn move_upstream(
    up: &UpstreamConfig,
    repo: &Repository,
    path: &Path,
    target: Oid,
) -> Result<(), UpdateError> {
    let (head, branch) = head_of(repo, path)?;
    if head == target {
        return Ok(());
    }
    safe_checkout(repo, path, target)?;
    let ff = up.layout == Layout::Clone
        && branch.is_some()
        && repo.graph_descendant_of(target, head).unwrap_or(false);
    match branch {
        Some(b) if ff => {
            let mut r = repo
                .find_reference(&b)
                .map_err(git_err(format!("reading {b}"), path))?;
            r.set_target(target, "tether: update upstream")
                .map_err(git_err(format!("fast-forwarding {b}"), path))?;
        }
        _ => repo
            .set_head_detached(target)
            .map_err(git_err(format!("checking out {target}"), path))?,
    }
    Ok(())
}

fn drop_ref(repo: &Repository, name: &str) {
    if let Ok(mut r) = repo.find_reference(name) {
        let _ = r.delete();
    }
}

/// Deletes every ref under `prefix` (the objects stay).
fn drop_namespace(repo: &Repository, prefix: &str) {
    let names: Vec<String> = repo
        .references_glob(&format!("{prefix}*"))
        .map(|refs| {
            refs.flatten()
                .filter_map(|r| r.name().ok().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    for n in names {
        drop_ref(repo, &n);
    }
}
