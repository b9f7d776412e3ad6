//! Owns the `git subtree` flavour of the vendored layout: the recorded base
//! read from the wrapper's history, the newest commit on its HEAD whose
//! message carries `git-subtree-dir: <path>` and `git-subtree-split: <sha>`
//! trailers (as `git subtree add/pull --squash` write them). Only reads.

use std::path::Path;

use git2::{Oid, Repository, Sort};
use serde::Serialize;

/// The trailer that names a vendored copy's base.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SubtreeBase {
    /// The `git-subtree-split:` hash, as written.
    pub split: String,
    /// The wrapper commit whose message carries it.
    pub wrapper_commit: String,
}

/// The trailer keys a staging commit writes for `path` and `target`, so
/// that the next read finds the new base.
pub fn subtree_trailers(path: &Path, target: Oid) -> String {
    format!(
        "git-subtree-dir: {}\ngit-subtree-split: {target}",
        dir_text(path)
    )
}

/// The newest commit reachable from the wrapper's HEAD whose message names
/// `path` in `git-subtree-dir:` with a `git-subtree-split:` hash; `None`
/// when there is none (or no HEAD).
pub fn subtree_base(wrapper: &Repository, path: &Path) -> Option<SubtreeBase> {
    let want = dir_text(path);
    let head = wrapper.head().ok()?.target()?;
    let mut walk = wrapper.revwalk().ok()?;
    walk.set_sorting(Sort::TOPOLOGICAL | Sort::TIME).ok()?;
    walk.push(head).ok()?;
    for id in walk.flatten() {
        let Ok(c) = wrapper.find_commit(id) else {
            continue;
        };
        let Ok(msg) = c.message() else { continue };
        if !msg.contains("git-subtree-split:") {
            continue;
        }
        let mut dir = None;
        let mut split = None;
        for line in msg.lines() {
            if let Some(v) = line.strip_prefix("git-subtree-dir:") {
                dir = Some(v.trim().trim_end_matches('/').trim_start_matches("./"));
            } else if let Some(v) = line.strip_prefix("git-subtree-split:") {
                split = Some(v.trim());
            }
        }
        if let (Some(d), Some(s)) = (dir, split)
            && d == want
            && !s.is_empty()
        {
            return Some(SubtreeBase {
                split: s.to_ascii_lowercase(),
                wrapper_commit: id.to_string(),
            });
        }
    }
    None
}

fn dir_text(path: &Path) -> String {
    path.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}
