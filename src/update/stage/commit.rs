//! Commits in the staged tree: the staging commit's tree, a fix's files,
//! dropping the last fix, and gitlink index entries.

use std::path::Path;

use git2::{IndexEntry, IndexTime, Oid, Repository, Signature};

use super::{GITLINK, copy_dirty};
use crate::config::Config;
use crate::update::backup::Backup;
use crate::update::error::{UpdateError, git_err};

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

/// Commits `tree` on HEAD's branch with HEAD as parent, as tether.
pub(super) fn commit_tree(
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
