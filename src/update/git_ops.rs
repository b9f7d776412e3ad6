//! Small git2 operations the update steps share: opening exactly one
//! repository, fetching from a local repository by path, reading HEAD.

use std::ffi::OsStr;
use std::path::Path;

use git2::{Oid, Repository, RepositoryOpenFlags};

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
/// `repo` (no remote is configured in `repo`). `FETCH_HEAD` is left as it
/// was: the fetch is tether's business, not the user's.
pub fn fetch_local(
    repo: &Repository,
    repo_path: &Path,
    from: &Path,
    refspecs: &[&str],
) -> Result<(), UpdateError> {
    let url = from.to_string_lossy();
    let action = format!("fetching from `{}`", from.display());
    let fetch_head = repo.path().join("FETCH_HEAD");
    let kept = fs_err::read(&fetch_head).ok();
    let mut remote = repo
        .remote_anonymous(&url)
        .map_err(git_err(&action, repo_path))?;
    let mut opts = git2::FetchOptions::new();
    opts.download_tags(git2::AutotagOption::None)
        .update_fetchhead(false);
    let result = remote
        .fetch(refspecs, Some(&mut opts), None)
        .map_err(git_err(&action, repo_path));
    match kept {
        Some(bytes) => {
            if fs_err::read(&fetch_head).ok().as_deref() != Some(bytes.as_slice()) {
                let _ = crate::state::write_atomic_shared(&fetch_head, &bytes);
            }
        }
        None => {
            let _ = fs_err::remove_file(&fetch_head);
        }
    }
    result
}

/// Whether `repo` has the commit `id`.
pub fn has_commit(repo: &Repository, id: Oid) -> bool {
    repo.find_commit(id).is_ok()
}
