//! Owns promotion: moving the live wrapper to the staged head once the
//! baseline passed. The live repositories fetch the staged branch and the
//! target; the move of every path is planned and journaled
//! ([`super::moves`], [`super::record`]) before anything changes, a path
//! with an uncommitted change stops it before it starts, and the plan is
//! carried out so that a crash at any point can be finished or undone. For
//! the submodule and clone layouts the live upstream checkout moves to the
//! target from tether's mirror. `plan_promotion` says what would happen
//! without doing it (for `--dry-run`).

use std::path::{Path, PathBuf};

use git2::{Oid, Repository};
use serde::Serialize;

use super::backup::Backup;
use super::error::{UpdateError, git_err};
use super::git_ops::{fetch_local, has_commit, head_of, open_here};
use super::journal::{Journal, JournalState};
use super::member::Member;
use super::moves::{
    Direction, HeadState, Settler, TreeMove, TreeRole, clashes_before, drop_tether_refs,
};
use super::record::PromotionRecord;
use crate::config::{Layout, UpstreamConfig};
use crate::failpoint;
use crate::state::StateDir;
use crate::text::{MESSAGE_ITEMS, cut_list};
use crate::upstream::{CommitInfo, Mirror};

/// Temporary refs the upstream checkout fetches the mirror into (dropped
/// when the promotion ends).
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
    /// A group update: the other members' live checkout moves.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub peer_checkouts: Vec<CheckoutMove>,
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
    ups: &[&UpstreamConfig],
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
    let mut checkouts = Vec::new();
    for m in journal.members() {
        if let Some(up) = ups.iter().find(|u| u.name == m.upstream) {
            checkouts.push(checkout_move(up, journal, &m.to));
        }
    }
    let mut checkouts = checkouts.into_iter();
    let upstream_checkout = checkouts.next().flatten();
    let peer_checkouts = checkouts.flatten().collect();
    Ok(PromotionPlan {
        live_root: journal.live_root.clone(),
        branch: journal.live_branch.clone(),
        from: from.to_string(),
        to: to.to_string(),
        commits,
        files,
        upstream_checkout,
        peer_checkouts,
    })
}

/// A member's live checkout move (submodule and clone layouts).
fn checkout_move(up: &UpstreamConfig, journal: &Journal, to: &str) -> Option<CheckoutMove> {
    match up.layout {
        Layout::Vendored => None,
        // a pinned upstream's checkout moves only when it is there
        Layout::Pinned if open_here(&journal.live_root.join(&up.path)).is_err() => None,
        Layout::Submodule | Layout::Clone | Layout::Pinned => {
            let path = journal.live_root.join(&up.path);
            let from = open_here(&path)
                .ok()
                .and_then(|r| r.head().ok().and_then(|h| h.target()))
                .map(|id| id.to_string());
            Some(CheckoutMove {
                path,
                from,
                to: to.to_owned(),
            })
        }
    }
}

/// Promotes the journal's staged branch into the live wrapper: checks the
/// live HEAD and branch are still what the backup saw, brings the objects
/// into the live repositories, plans every path of the move
/// ([`TreeMove`]) and checks that none holds an uncommitted change, saves
/// the plan, journals `Promoting`, carries the plan out (the upstream
/// checkout first, the wrapper's branch last), and journals `Promoted`. On
/// an error the live trees are put back by the plan and the journal stays
/// at `Promoting` for [`super::rollback`]. The journal is not archived.
pub fn promote(
    members: &[Member<'_>],
    journal: &mut Journal,
    state: &StateDir,
) -> Result<Promotion, UpdateError> {
    let ups: Vec<&UpstreamConfig> = members.iter().map(|m| m.up).collect();
    let plan = plan_promotion(&ups, journal)?;
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
    let mut notes = Vec::new();
    // objects first (harmless: no file changes), then the plan
    let before = HeadState {
        branch: branch.clone(),
        commit: head,
    };
    let trees = plan_trees(members, journal, before, None, &mut notes)?;
    let mut clashes = Vec::new();
    for t in &trees {
        let prefix = t.root.strip_prefix(&root).unwrap_or(Path::new(""));
        for c in clashes_before(t)? {
            clashes.push(prefix.join(c).to_string_lossy().into_owned());
        }
    }
    if !clashes.is_empty() {
        return Err(UpdateError::CheckoutConflict {
            path: root,
            detail: format!(
                "the update changes {} file(s) that have uncommitted changes or are untracked: {}",
                clashes.len(),
                cut_list(&clashes, MESSAGE_ITEMS)
            ),
        });
    }
    fetch_objects(members, journal, &trees)?;
    let record = PromotionRecord {
        id: journal.id.clone(),
        trees,
    };
    record.save(state)?;
    failpoint::hit("promote.planned");
    journal.staged_head = Some(to.to_string());
    journal.advance(state, JournalState::Promoting, None)?;
    failpoint::hit("promote.journaled");
    if let Err(e) = record.apply(Direction::Forward, Settler::Promotion) {
        // put the live trees back; the caller's rollback files the journal
        if let Err(undo) = record.apply(Direction::Backward, Settler::Promotion) {
            tracing::error!(error = %undo, "could not undo a failed promotion; the next tether command will");
        }
        return Err(e);
    }
    drop_all_refs(&record.trees);
    journal.advance(
        state,
        JournalState::Promoted,
        Some(format!("wrapper at {}", &plan.to)),
    )?;
    Ok(Promotion { plan, notes })
}

/// The moves of a promotion: the live upstream checkout (submodule and
/// clone layouts, when checked out) to the target, then the wrapper from
/// `wrapper_before` to the staged head. Planned where both commits already
/// are (the staged clone, tether's mirror), so that a refused promotion
/// leaves the live repositories untouched; [`fetch_objects`] brings the
/// blobs in afterwards. `upstream_before`: the checkout's HEAD to plan from
/// (recovery passes the backup's); `None`, its HEAD now.
pub(crate) fn plan_trees(
    members: &[Member<'_>],
    journal: &Journal,
    wrapper_before: HeadState,
    backup: Option<&Backup>,
    notes: &mut Vec<String>,
) -> Result<Vec<TreeMove>, UpdateError> {
    let root = &journal.live_root;
    let sdir = &journal.staged_dir;
    let staged = Repository::open(sdir).map_err(git_err("opening the staged tree", sdir))?;
    let to = match &journal.staged_head {
        Some(h) if journal.state == JournalState::Promoting => {
            Oid::from_str(h).map_err(git_err("reading the staged head", root))?
        }
        _ => staged_head(&staged, sdir, &journal.staged_branch)?,
    };
    let mut trees = Vec::new();
    for mv in journal.members() {
        let Some(m) = members.iter().find(|m| m.up.name == mv.upstream) else {
            continue;
        };
        let target = Oid::from_str(&mv.to).map_err(git_err("reading the target", root))?;
        let before = match backup.and_then(|b| b.member(&mv.upstream)) {
            Some(b) => match b.upstream_checkout {
                Some(c) => Some(HeadState {
                    branch: b.upstream_checkout_branch.clone(),
                    commit: Oid::from_str(&c).map_err(git_err("reading the backup", root))?,
                }),
                None => None,
            },
            None => None,
        };
        if let Some(t) = member_tree(m, root, target, before, notes)? {
            trees.push(t);
        }
    }
    let after = HeadState {
        branch: wrapper_before.branch.clone(),
        commit: to,
    };
    trees.push(TreeMove::between(
        TreeRole::Wrapper,
        &staged,
        root,
        wrapper_before,
        after,
    )?);
    Ok(trees)
}

/// One member's live checkout move to `target` (submodule and clone
/// layouts, when checked out). `before`: the checkout's HEAD to plan from
/// (recovery passes the backup's); `None`, its HEAD now.
fn member_tree(
    m: &Member<'_>,
    root: &Path,
    target: Oid,
    before: Option<HeadState>,
    notes: &mut Vec<String>,
) -> Result<Option<TreeMove>, UpdateError> {
    let (up, mirror) = (m.up, m.mirror);
    match up.layout {
        Layout::Vendored => return Ok(None),
        Layout::Submodule | Layout::Clone | Layout::Pinned => {}
    }
    let Some((repo, path)) = open_upstream(up, root, target, notes)? else {
        return Ok(None);
    };
    let before = match before {
        Some(b) => b,
        None => {
            let (commit, branch) = head_of(&repo, &path)?;
            HeadState { branch, commit }
        }
    };
    // the mirror has both ends, unless the checkout is at a local commit
    let planner = if has_commit(mirror.repo(), before.commit) {
        mirror.repo()
    } else {
        fetch_target(up, mirror, &repo, &path, target)?;
        &repo
    };
    let ff = matches!(up.layout, Layout::Clone | Layout::Pinned)
        && before.branch.is_some()
        && (before.commit == target
            || planner
                .graph_descendant_of(target, before.commit)
                .unwrap_or(false));
    let after = HeadState {
        branch: if ff { before.branch.clone() } else { None },
        commit: target,
    };
    Ok(Some(TreeMove::between(
        TreeRole::Upstream,
        planner,
        &path,
        before,
        after,
    )?))
}

/// Brings the objects a promotion writes into the live repositories: the
/// staged branch into the wrapper, the target into the upstream checkout,
/// through temporary `refs/tether/*` refs (dropped when the promotion ends).
pub(crate) fn fetch_objects(
    members: &[Member<'_>],
    journal: &Journal,
    trees: &[TreeMove],
) -> Result<(), UpdateError> {
    for t in trees {
        let repo = open_here(&t.root).map_err(git_err("opening", &t.root))?;
        if has_commit(&repo, t.after.commit) {
            continue;
        }
        match t.role {
            TreeRole::Wrapper => {
                let spec = format!(
                    "+refs/heads/{}:{}",
                    journal.staged_branch,
                    staged_ref(&journal.id)
                );
                fetch_local(&repo, &t.root, &journal.staged_dir, &[spec.as_str()])?;
            }
            TreeRole::Upstream => {
                let Some(m) = members
                    .iter()
                    .find(|m| journal.live_root.join(&m.up.path) == t.root)
                else {
                    continue;
                };
                fetch_target(m.up, m.mirror, &repo, &t.root, t.after.commit)?;
            }
        }
    }
    Ok(())
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

/// Opens the live upstream checkout; `None` (with a note) when a
/// submodule is not checked out.
fn open_upstream(
    up: &UpstreamConfig,
    root: &Path,
    target: Oid,
    notes: &mut Vec<String>,
) -> Result<Option<(Repository, PathBuf)>, UpdateError> {
    let path = root.join(&up.path);
    match open_here(&path) {
        Ok(r) => Ok(Some((r, path))),
        Err(_) if up.layout == Layout::Pinned => {
            notes.push(format!(
                "no checkout of {} at {}; the app's install step will fetch {target}",
                up.name,
                path.display()
            ));
            Ok(None)
        }
        Err(e) if up.layout == Layout::Submodule => {
            notes.push(format!(
                "submodule {} is not checked out ({}); run `git submodule update` to get {target}",
                path.display(),
                e.message()
            ));
            Ok(None)
        }
        Err(e) => Err(git_err("opening the upstream clone", &path)(e)),
    }
}

/// Makes sure the upstream checkout has `target`, fetching tether's mirror
/// into it (through temporary refs) when it does not.
fn fetch_target(
    up: &UpstreamConfig,
    mirror: &Mirror,
    repo: &Repository,
    path: &Path,
    target: Oid,
) -> Result<(), UpdateError> {
    if !has_commit(repo, target) {
        fetch_local(repo, path, mirror.path(), &UPSTREAM_REFS)?;
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

/// Drops the temporary refs of every tree of a promotion.
pub(crate) fn drop_all_refs(trees: &[TreeMove]) {
    for t in trees {
        drop_tether_refs(&t.root);
    }
}
