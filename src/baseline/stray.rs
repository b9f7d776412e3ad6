//! Notices a baseline case that writes into the tree under test instead of
//! its output folder: the tree's git status (plus size and mtime of every
//! changed or untracked path) before the case, compared with after it.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::SystemTime;

/// What was dirty in the tree before a case ran.
pub struct TreeSnapshot {
    entries: BTreeMap<String, Option<(u64, SystemTime)>>,
}

fn dirty_paths(tree: &Path) -> Option<BTreeMap<String, Option<(u64, SystemTime)>>> {
    let repo = git2::Repository::open(tree).ok()?;
    let mut opts = git2::StatusOptions::new();
    opts.include_untracked(true)
        .recurse_untracked_dirs(true)
        .include_ignored(false)
        .exclude_submodules(true);
    let statuses = repo.statuses(Some(&mut opts)).ok()?;
    let mut out = BTreeMap::new();
    for s in statuses.iter() {
        let Ok(path) = s.path() else { continue };
        let meta = fs_err::metadata(tree.join(path))
            .ok()
            .and_then(|m| Some((m.len(), m.modified().ok()?)));
        out.insert(path.to_owned(), meta);
    }
    Some(out)
}

impl TreeSnapshot {
    /// `None` when the tree is not a git repository (nothing to compare).
    pub fn take(tree: &Path) -> Option<TreeSnapshot> {
        dirty_paths(tree).map(|entries| TreeSnapshot { entries })
    }

    /// Paths (relative to the tree) created, changed or deleted since the
    /// snapshot, leaving out anything under `allowed` (the case's output
    /// folder, when it lies inside the tree).
    pub fn changed_since(&self, tree: &Path, allowed: &Path) -> Vec<String> {
        let Some(now) = dirty_paths(tree) else {
            return Vec::new();
        };
        let allowed = allowed
            .strip_prefix(tree)
            .ok()
            .map(|p| p.to_string_lossy().into_owned());
        let inside_allowed = |p: &str| {
            allowed
                .as_deref()
                .is_some_and(|a| !a.is_empty() && p.starts_with(a))
        };
        let mut out: Vec<String> = now
            .iter()
            .filter(|(p, meta)| self.entries.get(*p) != Some(meta))
            .map(|(p, _)| p.clone())
            .chain(
                self.entries
                    .keys()
                    .filter(|p| !now.contains_key(*p))
                    .cloned(),
            )
            .filter(|p| !inside_allowed(p))
            .collect();
        out.sort();
        out.dedup();
        out
    }
}
