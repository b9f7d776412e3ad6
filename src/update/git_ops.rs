//! Small git2 operations the update steps share: opening exactly one
//! repository, fetching from a local repository by path, reading HEAD, and
//! safe checkouts that stop before changing anything when they would touch
//! an uncommitted change.

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::path::Path;

use git2::{Oid, Repository, RepositoryOpenFlags, StatusOptions, build::CheckoutBuilder};

use super::error::{UpdateError, git_err};

/// Opens exactly the repository at `path` (no search in parent folders).
pub fn open_here(path: &Path) -> Result<Repository, git2::Error> {
    Repository::open_ext(
        path,
        RepositoryOpenFlags::NO_SEARCH,
        std::iter::empty::<&OsStr>(),
    )
}

/// First 7 hex digits.
pub fn short(id: impl std::fmt::Display) -> String {
    let s = id.to_string();
    s[..s.len().min(7)].to_owned()
}

/// HEAD's commit and its branch (`refs/heads/...`, `None` when detached).
pub fn head_of(repo: &Repository, path: &Path) -> Result<(Oid, Option<String>), UpdateError> {
    let head = repo.head().map_err(git_err("reading HEAD", path))?;
    let id = head
        .peel_to_commit()
        .map_err(git_err("reading HEAD's commit", path))?
        .id();
    let branch = if repo.head_detached().unwrap_or(false) {
        None
    } else {
        head.name().ok().map(str::to_owned)
    };
    Ok((id, branch))
}

/// Fetches `refspecs` from the repository at the local path `from` into
/// `repo` (no remote is configured in `repo`).
pub fn fetch_local(
    repo: &Repository,
    repo_path: &Path,
    from: &Path,
    refspecs: &[&str],
) -> Result<(), UpdateError> {
    let url = from.to_string_lossy();
    let action = format!("fetching from `{}`", from.display());
    let mut remote = repo
        .remote_anonymous(&url)
        .map_err(git_err(&action, repo_path))?;
    let mut opts = git2::FetchOptions::new();
    opts.download_tags(git2::AutotagOption::None)
        .update_fetchhead(false);
    remote
        .fetch(refspecs, Some(&mut opts), None)
        .map_err(git_err(&action, repo_path))
}

/// Checks out `target`'s tree over the current HEAD safely: files with
/// uncommitted changes are never overwritten, and a clash stops the
/// checkout before any file changes.
pub fn safe_checkout(repo: &Repository, path: &Path, target: Oid) -> Result<(), UpdateError> {
    let commit = repo
        .find_commit(target)
        .map_err(git_err(format!("reading commit {target}"), path))?;
    let conflict = |e: git2::Error| UpdateError::CheckoutConflict {
        path: path.to_path_buf(),
        detail: crate::redact::redact(e.message()).into_owned(),
    };
    let mut real = CheckoutBuilder::new();
    real.safe();
    repo.checkout_tree(commit.as_object(), Some(&mut real))
        .map_err(conflict)
}

/// Paths that differ between two commits of `repo` (both sides of renames).
pub fn changed_paths(
    repo: &Repository,
    path: &Path,
    from: Oid,
    to: Oid,
) -> Result<BTreeSet<String>, UpdateError> {
    let err = git_err(format!("comparing {from} with {to}"), path);
    let old = repo
        .find_commit(from)
        .and_then(|c| c.tree())
        .map_err(&err)?;
    let new = repo.find_commit(to).and_then(|c| c.tree()).map_err(&err)?;
    let diff = repo
        .diff_tree_to_tree(Some(&old), Some(&new), None)
        .map_err(&err)?;
    Ok(diff
        .deltas()
        .flat_map(|d| [d.old_file().path(), d.new_file().path()])
        .flatten()
        .map(|p| p.to_string_lossy().into_owned())
        .collect())
}

/// Checks, without writing anything, that a safe checkout changing the
/// files `changed` would succeed in the checkout `repo`: none of them may
/// have uncommitted changes or be untracked. (libgit2's safe checkout also
/// refuses before writing; this lets several checkouts be vetted before any
/// of them runs.)
pub fn check_clean(
    repo: &Repository,
    path: &Path,
    changed: &BTreeSet<String>,
) -> Result<(), UpdateError> {
    if changed.is_empty() {
        return Ok(());
    }
    let mut opts = StatusOptions::new();
    opts.include_untracked(true)
        .recurse_untracked_dirs(true)
        .include_ignored(false)
        .exclude_submodules(true);
    let statuses = repo
        .statuses(Some(&mut opts))
        .map_err(git_err("reading the status", path))?;
    let mut clashes = Vec::new();
    for entry in statuses.iter() {
        let Ok(p) = entry.path() else { continue };
        let p = p.trim_end_matches('/');
        let hit = changed.contains(p)
            || changed
                .iter()
                .any(|c| c.starts_with(&format!("{p}/")) || p.starts_with(&format!("{c}/")));
        if hit {
            clashes.push(p.to_owned());
        }
    }
    if clashes.is_empty() {
        return Ok(());
    }
    Err(UpdateError::CheckoutConflict {
        path: path.to_path_buf(),
        detail: format!(
            "the update changes {} that {} uncommitted changes or {} untracked",
            clashes
                .iter()
                .map(|c| format!("`{c}`"))
                .collect::<Vec<_>>()
                .join(", "),
            if clashes.len() == 1 { "has" } else { "have" },
            if clashes.len() == 1 { "is" } else { "are" },
        ),
    })
}

/// Whether `repo` has the commit `id`.
pub fn has_commit(repo: &Repository, id: Oid) -> bool {
    repo.find_commit(id).is_ok()
}
