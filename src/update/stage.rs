//! Owns the staged tree: a local git2 clone of the live wrapper at
//! `<state>/update/<id>/staged/` (never a worktree of the live repository,
//! so the live `.git` is untouched until promotion), on branch
//! `tether/update-<id>` from the live HEAD, with the upstream moved to the
//! target and committed per layout, and the live tree's uncommitted files
//! copied in. Also owns the record-file rewrite and committing in the staged
//! tree (for fixes).

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use git2::build::{CheckoutBuilder, RepoBuilder};
use git2::{IndexEntry, IndexTime, ObjectType, Oid, Repository, Signature, Tree};
use regex::Regex;
use serde::Serialize;

use super::backup::Backup;
use super::error::{UpdateError, git_err, io_err};
use super::git_ops::{fetch_local, has_commit, short};
use super::journal::{UpdatePaths, staged_branch};
use crate::config::{Config, Layout, UpstreamConfig};
use crate::state::StateDir;
use crate::upstream::Mirror;

const GITLINK: u32 = 0o160000;
const TREE: i32 = 0o040000;
const BLOB: i32 = 0o100644;
/// Where the mirror's branches and tags land in the staged clone.
const UPSTREAM_REFS: [&str; 2] = [
    "+refs/heads/*:refs/tether/upstream/heads/*",
    "+refs/tags/*:refs/tether/upstream/tags/*",
];

static UPDATED_LINE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"Updated by tether:[ \t]*[^\s`]*").expect("regex compiles"));

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
    /// committed and the staged files hold conflict markers.
    Conflicts { files: Vec<ConflictFile> },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConflictFile {
    /// Relative to the wrapper root.
    pub path: String,
    pub reason: String,
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
    let state = StateDir::new(&cfg.project.state_dir);
    let dir = UpdatePaths::new(&state).staged_dir(&backup.id);
    let branch = staged_branch(&backup.id);
    let base = Oid::from_str(&backup.head).map_err(git_err("reading the backed-up HEAD", &dir))?;
    if !has_commit(mirror.repo(), target) {
        return Err(UpdateError::MissingCommit {
            upstream: up.name.clone(),
            commit: target.to_string(),
            detail: "fetch the upstream first".into(),
        });
    }
    let repo = clone_wrapper(&backup.wrapper_root, &dir, base, &branch)?;
    crate::failpoint::hit("update.stage.cloned");
    let upstream_dir = dir.join(&up.path);
    let mut notes = Vec::new();
    let message = format!("chore(upstream): bump {} to {}", up.name, short(target));
    let head_tree = repo
        .find_commit(base)
        .and_then(|c| c.tree())
        .map_err(git_err("reading HEAD's tree", &dir))?;
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
            let mut index = repo.index().map_err(git_err("reading the index", &dir))?;
            let rel = rel_str(&up.path);
            index
                .add(&gitlink_entry(&rel, target))
                .map_err(git_err("writing the submodule commit into the index", &dir))?;
            let mut files = vec![rel];
            if let Some(f) = update_record_file(up, &dir, &head_tree, target, &mut notes)? {
                index
                    .add_path(Path::new(&f))
                    .map_err(git_err("adding the record file", &dir))?;
                files.push(f);
            }
            index.write().map_err(git_err("writing the index", &dir))?;
            let tree = index
                .write_tree()
                .map_err(git_err("writing a tree", &dir))?;
            let commit = commit_tree(cfg, &repo, &dir, tree, &message)?;
            StageOutcome::Committed {
                commit: commit.to_string(),
                message: message.clone(),
                files,
            }
        }
        Layout::Clone => {
            clone_upstream(mirror, &upstream_dir, target)?;
            match update_record_file(up, &dir, &head_tree, target, &mut notes)? {
                Some(f) => {
                    let mut index = repo.index().map_err(git_err("reading the index", &dir))?;
                    index
                        .add_path(Path::new(&f))
                        .map_err(git_err("adding the record file", &dir))?;
                    index.write().map_err(git_err("writing the index", &dir))?;
                    let tree = index
                        .write_tree()
                        .map_err(git_err("writing a tree", &dir))?;
                    let commit = commit_tree(cfg, &repo, &dir, tree, &message)?;
                    StageOutcome::Committed {
                        commit: commit.to_string(),
                        message: message.clone(),
                        files: vec![f],
                    }
                }
                None => StageOutcome::NothingToCommit,
            }
        }
        Layout::Vendored => {
            let from = Oid::from_str(&backup.upstream_commit)
                .map_err(git_err("reading the recorded upstream commit", &dir))?;
            let step = UpstreamStep {
                from,
                target,
                message: &message,
            };
            vendored(cfg, up, mirror, &repo, &dir, &head_tree, &step)?
        }
    };
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
        target: target.to_string(),
        outcome,
        notes,
    })
}

/// Commits `files` (relative to the staged root; deleted ones are removed
/// from the index) on the staged branch as the configured tether author.
/// Returns the new commit's hash.
pub fn commit_files(
    cfg: &Config,
    staged_dir: &Path,
    files: &[String],
    message: &str,
) -> Result<String, UpdateError> {
    let repo =
        Repository::open(staged_dir).map_err(git_err("opening the staged tree", staged_dir))?;
    let mut index = repo
        .index()
        .map_err(git_err("reading the index", staged_dir))?;
    for f in files {
        let p = Path::new(f);
        let r = if staged_dir.join(p).symlink_metadata().is_ok() {
            index.add_path(p)
        } else {
            index.remove_path(p)
        };
        r.map_err(git_err(format!("staging `{f}`"), staged_dir))?;
    }
    index
        .write()
        .map_err(git_err("writing the index", staged_dir))?;
    let tree = index
        .write_tree()
        .map_err(git_err("writing a tree", staged_dir))?;
    Ok(commit_tree(cfg, &repo, staged_dir, tree, message)?.to_string())
}

/// Drops the staged branch's last commit (a fix that made things worse):
/// the branch, index and tracked files go back to its parent, then the live
/// tree's uncommitted files are copied in again. Returns the new head.
pub fn drop_last_commit(backup: &Backup, staged_dir: &Path) -> Result<String, UpdateError> {
    let repo =
        Repository::open(staged_dir).map_err(git_err("opening the staged tree", staged_dir))?;
    let head = repo
        .head()
        .and_then(|h| h.peel_to_commit())
        .map_err(git_err("reading the staged HEAD", staged_dir))?;
    let parent = head
        .parent(0)
        .map_err(git_err("reading the last commit's parent", staged_dir))?;
    repo.reset(parent.as_object(), git2::ResetType::Hard, None)
        .map_err(git_err("resetting the staged branch", staged_dir))?;
    copy_dirty(backup, staged_dir, &[])?;
    Ok(parent.id().to_string())
}

/// Rewrites a record file's text for commit `new`: the hash matched by
/// `pattern`'s first group is replaced (keeping its length, 7 at least), and
/// a line `Updated by tether: <time>` is replaced or added after the hash's
/// line (with the same list marker). `None` when the pattern does not match.
pub fn update_record_text(
    text: &str,
    pattern: &Regex,
    new: Oid,
    now: jiff::Timestamp,
) -> Option<String> {
    let caps = pattern.captures(text)?;
    let m = caps.get(1)?;
    let hex = new.to_string();
    let len = m.as_str().len().clamp(7, hex.len());
    let mut out = String::with_capacity(text.len() + 64);
    out.push_str(&text[..m.start()]);
    out.push_str(&hex[..len]);
    out.push_str(&text[m.end()..]);
    let stamp = format!("Updated by tether: {}", now.strftime("%Y-%m-%dT%H:%M:%SZ"));
    if UPDATED_LINE.is_match(&out) {
        return Some(UPDATED_LINE.replace(&out, stamp.as_str()).into_owned());
    }
    let line_start = out[..m.start()].rfind('\n').map_or(0, |i| i + 1);
    let line_end = out[m.start()..]
        .find('\n')
        .map_or(out.len(), |i| m.start() + i);
    let line = &out[line_start..line_end];
    let indent: String = line.chars().take_while(|c| c.is_whitespace()).collect();
    let rest = &line[indent.len()..];
    let marker = ["- ", "* ", "+ "]
        .into_iter()
        .find(|mk| rest.starts_with(mk))
        .unwrap_or("");
    let new_line = format!("{indent}{marker}{stamp}");
    if line_end == out.len() {
        out.push('\n');
        out.push_str(&new_line);
        out.push('\n');
    } else {
        out.insert_str(line_end + 1, &format!("{new_line}\n"));
    }
    Some(out)
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

/// Rewrites the record file in the staged tree when the wrapper's HEAD has
/// one; returns its path (relative) when it changed.
fn update_record_file(
    up: &UpstreamConfig,
    dir: &Path,
    head_tree: &Tree<'_>,
    target: Oid,
    notes: &mut Vec<String>,
) -> Result<Option<String>, UpdateError> {
    let rel = rel_str(&up.record_file);
    if head_tree.get_path(&up.record_file).is_err() {
        notes.push(format!(
            "no record file `{rel}` in the wrapper; none updated"
        ));
        return Ok(None);
    }
    let path = dir.join(&up.record_file);
    let text = fs_err::read_to_string(&path).map_err(io_err("read the record file", &path))?;
    match update_record_text(&text, &up.record_pattern, target, crate::env::now()) {
        Some(new) => {
            fs_err::write(&path, new).map_err(io_err("write the record file", &path))?;
            Ok(Some(rel))
        }
        None if up.layout == Layout::Vendored => Err(UpdateError::Record {
            upstream: up.name.clone(),
            path,
            detail: format!(
                "no line matches record_pattern `{}`",
                up.record_pattern.as_str()
            ),
        }),
        None => {
            notes.push(format!(
                "record file `{rel}` has no line matching record_pattern; left as is"
            ));
            Ok(None)
        }
    }
}

/// The upstream's move a staging commit records.
struct UpstreamStep<'a> {
    /// The recorded commit (the merge base).
    from: Oid,
    target: Oid,
    /// The staging commit's message.
    message: &'a str,
}

/// The vendored layout: a 3-way merge of the wrapper's copy (ours) with the
/// upstream's move from the recorded commit (base) to `target` (theirs).
fn vendored(
    cfg: &Config,
    up: &UpstreamConfig,
    mirror: &Mirror,
    repo: &Repository,
    dir: &Path,
    head_tree: &Tree<'_>,
    step: &UpstreamStep<'_>,
) -> Result<StageOutcome, UpdateError> {
    let UpstreamStep {
        from,
        target,
        message,
    } = *step;
    fetch_local(repo, dir, mirror.path(), &UPSTREAM_REFS)?;
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
    let mut merged = repo
        .merge_trees(&base_tree, &our_tree, &their_tree, None)
        .map_err(git_err("merging the upstream change", dir))?;
    let prefix = rel_str(&up.path);
    if merged.has_conflicts() {
        let files = write_conflicts(repo, dir, &prefix, &merged, target)?;
        return Ok(StageOutcome::Conflicts { files });
    }
    let sub = merged
        .write_tree_to(repo)
        .map_err(git_err("writing the merged tree", dir))?;
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
    Ok(StageOutcome::Committed {
        commit: commit.to_string(),
        message: message.to_owned(),
        files,
    })
}

/// Writes each conflicted file into the staged tree with conflict markers
/// (or the side that still exists) and lists it.
fn write_conflicts(
    repo: &Repository,
    dir: &Path,
    prefix: &str,
    merged: &git2::Index,
    target: Oid,
) -> Result<Vec<ConflictFile>, UpdateError> {
    let blob = |e: &Option<IndexEntry>| -> Vec<u8> {
        e.as_ref()
            .and_then(|e| repo.find_blob(e.id).ok())
            .map(|b| b.content().to_vec())
            .unwrap_or_default()
    };
    let theirs_label = format!("upstream {}", short(target));
    let mut out = Vec::new();
    let conflicts = merged
        .conflicts()
        .map_err(git_err("listing merge conflicts", dir))?;
    for c in conflicts {
        let c = c.map_err(git_err("listing merge conflicts", dir))?;
        let any = c
            .our
            .as_ref()
            .or(c.their.as_ref())
            .or(c.ancestor.as_ref())
            .expect("a conflict has at least one side");
        let inner = String::from_utf8_lossy(&any.path).into_owned();
        let rel = format!("{prefix}/{inner}");
        let (ancestor, ours, theirs) = (blob(&c.ancestor), blob(&c.our), blob(&c.their));
        let (content, reason) = match (&c.our, &c.their) {
            (Some(_), Some(_)) => {
                let mut a = git2::MergeFileInput::new();
                a.content(&ancestor);
                let mut o = git2::MergeFileInput::new();
                o.content(&ours);
                let mut t = git2::MergeFileInput::new();
                t.content(&theirs);
                let mut opts = git2::MergeFileOptions::new();
                opts.our_label("wrapper")
                    .their_label(theirs_label.as_str())
                    .ancestor_label("base");
                let res = git2::merge_file(&a, &o, &t, Some(&mut opts))
                    .map_err(git_err(format!("merging `{rel}`"), dir))?;
                let reason = if c.ancestor.is_some() {
                    "changed by the wrapper and by the upstream in the same place"
                } else {
                    "added by both the wrapper and the upstream"
                };
                (res.content().to_vec(), reason)
            }
            (Some(_), None) => (ours, "modified by the wrapper, deleted by the upstream"),
            (None, Some(_)) => (theirs, "deleted by the wrapper, modified by the upstream"),
            (None, None) => (Vec::new(), "deleted on both sides"),
        };
        let path = dir.join(&rel);
        if let Some(parent) = path.parent() {
            fs_err::create_dir_all(parent).map_err(io_err("create", parent))?;
        }
        fs_err::write(&path, content).map_err(io_err("write conflict markers into", &path))?;
        out.push(ConflictFile {
            path: rel,
            reason: reason.to_owned(),
        });
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
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

/// Commits `tree` on HEAD's branch with HEAD as parent, as tether.
fn commit_tree(
    cfg: &Config,
    repo: &Repository,
    dir: &Path,
    tree: Oid,
    message: &str,
) -> Result<Oid, UpdateError> {
    let (name, email) = &cfg.update.commit_author;
    let time = git2::Time::new(crate::env::now().as_second(), 0);
    let sig = Signature::new(name, email, &time).map_err(git_err("building the signature", dir))?;
    let tree = repo
        .find_tree(tree)
        .map_err(git_err("reading a tree", dir))?;
    let parent = repo
        .head()
        .and_then(|h| h.peel_to_commit())
        .map_err(git_err("reading HEAD", dir))?;
    repo.commit(Some("HEAD"), &sig, &sig, message, &tree, &[&parent])
        .map_err(git_err("committing", dir))
}

/// An index entry for a submodule at commit `id`.
pub(crate) fn gitlink_entry(path: &str, id: Oid) -> IndexEntry {
    IndexEntry {
        ctime: IndexTime::new(0, 0),
        mtime: IndexTime::new(0, 0),
        dev: 0,
        ino: 0,
        mode: GITLINK,
        uid: 0,
        gid: 0,
        file_size: 0,
        id,
        flags: (path.len().min(0xfff)) as u16,
        flags_extended: 0,
        path: path.as_bytes().to_vec(),
    }
}

fn copy_dirty(backup: &Backup, dir: &Path, skip: &[String]) -> Result<(), UpdateError> {
    if skip.is_empty() {
        return backup.copy_dirty_into(dir);
    }
    let mut rest = backup.clone();
    rest.dirty.retain(|d| !skip.contains(&d.path));
    rest.copy_dirty_into(dir)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern() -> Regex {
        Regex::new(r"(?i)upstream[ _-]commit\W*([0-9a-f]{7,40})\b").unwrap()
    }

    #[test]
    fn record_text_gets_hash_and_stamp() {
        let new = Oid::from_str("0123456789abcdef0123456789abcdef01234567").unwrap();
        let now = jiff::Timestamp::from_second(1_800_000_000).unwrap();
        let text = "# Structure\n\n- `W/`: vendored\n- Upstream commit: `abcdef1`\n- other\n";
        let out = update_record_text(text, &pattern(), new, now).unwrap();
        assert_eq!(
            out,
            "# Structure\n\n- `W/`: vendored\n- Upstream commit: `0123456`\n- Updated by tether: 2027-01-15T08:00:00Z\n- other\n"
        );
        let later = jiff::Timestamp::from_second(1_800_000_060).unwrap();
        let again = update_record_text(&out, &pattern(), new, later).unwrap();
        assert!(again.contains("- Updated by tether: 2027-01-15T08:01:00Z\n- other"));
        assert_eq!(again.matches("Updated by tether").count(), 1);
        let full = "Upstream commit: abcdef1234abcdef1234abcdef1234abcdef1234";
        let out = update_record_text(full, &pattern(), new, now).unwrap();
        assert_eq!(
            out,
            "Upstream commit: 0123456789abcdef0123456789abcdef01234567\nUpdated by tether: 2027-01-15T08:00:00Z\n"
        );
        assert!(update_record_text("nothing here", &pattern(), new, now).is_none());
    }
}
