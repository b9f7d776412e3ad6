//! The merge of whole trees: libgit2's `merge_trees` first, then every file
//! it left in conflict merged again by `merge_file` (resolved blobs are
//! written into the repository), with the statistics of how each file that
//! both sides touched merged.

use std::collections::BTreeSet;
use std::path::Path;

use git2::{IndexEntry, IndexTime, Oid, Repository, Tree};

use super::{
    ConflictHunk, ConflictReason, FileMerge, FileNote, Labels, MergeSummary, Sides, merge_file,
};

/// A tree merge: the merged tree when every file merged, else the files in
/// conflict.
#[derive(Debug, Clone)]
pub struct MergedTree {
    /// The merged tree, written into the repository; `None` when a conflict
    /// is left.
    pub tree: Option<Oid>,
    /// When a conflict is left: the merged tree without the conflicted files
    /// (everything that did merge), written into the repository.
    pub clean_part: Option<Oid>,
    pub conflicts: Vec<TreeConflict>,
    pub summary: MergeSummary,
}

/// One file left in conflict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeConflict {
    /// Relative to the merged trees, `/`-separated.
    pub path: String,
    pub reason: ConflictReason,
    pub hunks: Vec<ConflictHunk>,
    /// The file as it is to be left: with markers, or the side that exists.
    pub content: Vec<u8>,
}

const BLOB: u32 = 0o100644;

/// Merges `ours` and `theirs` from `base` (trees of `repo`).
pub fn merge_trees(
    repo: &Repository,
    base: &Tree<'_>,
    ours: &Tree<'_>,
    theirs: &Tree<'_>,
    labels: &Labels<'_>,
) -> Result<MergedTree, git2::Error> {
    let mut index = repo.merge_trees(base, ours, theirs, None)?;
    let mut summary = MergeSummary::default();
    let mut conflicts = Vec::new();
    let entries: Vec<git2::IndexConflict> = index.conflicts()?.collect::<Result<_, _>>()?;
    let mut conflicted = BTreeSet::new();
    for c in &entries {
        for e in [&c.ancestor, &c.our, &c.their].into_iter().flatten() {
            conflicted.insert(String::from_utf8_lossy(&e.path).into_owned());
        }
    }
    count_clean(repo, base, ours, theirs, &conflicted, &mut summary)?;
    for c in entries {
        let blob = |e: &Option<IndexEntry>| -> Option<Vec<u8>> {
            e.as_ref().map(|e| {
                repo.find_blob(e.id)
                    .map(|b| b.content().to_vec())
                    .unwrap_or_default()
            })
        };
        let (b, o, t) = (blob(&c.ancestor), blob(&c.our), blob(&c.their));
        let any = c.their.as_ref().or(c.our.as_ref()).or(c.ancestor.as_ref());
        let Some(any) = any else { continue };
        let path = String::from_utf8_lossy(&any.path).into_owned();
        let sides = Sides {
            base: b.as_deref(),
            ours: o.as_deref(),
            theirs: t.as_deref(),
        };
        let result = merge_file(&path, &sides, labels);
        let note = match &result {
            FileMerge::Clean { note, .. } | FileMerge::Conflict { note, .. } => note.clone(),
        };
        if let Some(n) = note {
            summary.notes.push(FileNote {
                path: path.clone(),
                note: n,
            });
        }
        match result {
            FileMerge::Clean {
                content, method, ..
            } => {
                summary.stats.count(method);
                let paths: BTreeSet<String> = [&c.ancestor, &c.our, &c.their]
                    .into_iter()
                    .flatten()
                    .map(|e| String::from_utf8_lossy(&e.path).into_owned())
                    .collect();
                for p in paths {
                    index.conflict_remove(Path::new(&p))?;
                }
                if let Some(content) = content {
                    let id = repo.blob(&content)?;
                    let mode = c.their.as_ref().or(c.our.as_ref()).map_or(BLOB, |e| e.mode);
                    index.add(&entry(&path, id, mode))?;
                }
            }
            FileMerge::Conflict {
                content,
                hunks,
                reason,
                ..
            } => {
                summary.stats.conflicts += 1;
                conflicts.push(TreeConflict {
                    path,
                    reason,
                    hunks,
                    content,
                });
            }
        }
    }
    conflicts.sort_by(|a, b| a.path.cmp(&b.path));
    let (tree, clean_part) = if conflicts.is_empty() {
        (Some(index.write_tree_to(repo)?), None)
    } else {
        let left: Vec<git2::IndexConflict> = index.conflicts()?.collect::<Result<_, _>>()?;
        let paths: BTreeSet<String> = left
            .iter()
            .flat_map(|c| [&c.ancestor, &c.our, &c.their])
            .flatten()
            .map(|e| String::from_utf8_lossy(&e.path).into_owned())
            .collect();
        for p in paths {
            index.conflict_remove(Path::new(&p))?;
        }
        (None, Some(index.write_tree_to(repo)?))
    };
    Ok(MergedTree {
        tree,
        clean_part,
        conflicts,
        summary,
    })
}

/// Counts the files libgit2 merged without conflict that both sides
/// changed (line merge, or one side when both made the same change) or
/// one side changed.
fn count_clean(
    repo: &Repository,
    base: &Tree<'_>,
    ours: &Tree<'_>,
    theirs: &Tree<'_>,
    conflicted: &BTreeSet<String>,
    summary: &mut MergeSummary,
) -> Result<(), git2::Error> {
    let changed = |side: &Tree<'_>| -> Result<BTreeSet<String>, git2::Error> {
        let diff = repo.diff_tree_to_tree(Some(base), Some(side), None)?;
        Ok(diff
            .deltas()
            .filter_map(|d| d.new_file().path().or(d.old_file().path()))
            .map(|p| p.to_string_lossy().into_owned())
            .collect())
    };
    let (o, t) = (changed(ours)?, changed(theirs)?);
    for path in o.union(&t) {
        if conflicted.contains(path) {
            continue;
        }
        let id = |tree: &Tree<'_>| tree.get_path(Path::new(path)).ok().map(|e| e.id());
        if o.contains(path) && t.contains(path) && id(ours) != id(theirs) {
            summary.stats.line += 1;
        } else {
            summary.stats.one_side += 1;
        }
    }
    Ok(())
}

pub(super) fn entry(path: &str, id: Oid, mode: u32) -> IndexEntry {
    IndexEntry {
        ctime: IndexTime::new(0, 0),
        mtime: IndexTime::new(0, 0),
        dev: 0,
        ino: 0,
        mode,
        uid: 0,
        gid: 0,
        file_size: 0,
        id,
        flags: (path.len().min(0xfff)) as u16,
        flags_extended: 0,
        path: path.as_bytes().to_vec(),
    }
}
