//! A staged tree left in conflict: the clean part of the vendored merge
//! written next to the conflicted files (so the tree is the whole merge,
//! markers included), the conflict markers still in it (file and line), the
//! base/ours/theirs versions of a conflicted file, and the commit of a
//! resolution on the staged branch. The merge itself is `vendored`'s.

use std::collections::BTreeSet;
use std::path::Path;

use git2::{IndexAddOption, ObjectType, Oid, Repository, Tree, TreeWalkMode, TreeWalkResult};
use serde::{Deserialize, Serialize};

use super::commit::commit_tree;
use super::{GITLINK, rel_str};
use crate::config::Config;
use crate::update::backup::Backup;
use crate::update::error::{UpdateError, git_err, io_err};

/// The marker lines git writes into a conflicted file, at line starts.
const MARKERS: [&str; 4] = ["<<<<<<< ", "|||||||", ">>>>>>> ", "======="];

/// One conflict marker left in a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarkerLine {
    /// Relative to the wrapper root.
    pub path: String,
    /// 1-based.
    pub line: usize,
}

/// One conflicting region of a file: the lines from `<<<<<<<` to `>>>>>>>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarkedHunk {
    pub path: String,
    /// 1-based, both ends included.
    pub start: usize,
    pub end: usize,
}

/// The three versions of a conflicted file; `None` where that side has no
/// such file.
#[derive(Debug, Clone, Default)]
pub struct ConflictVersions {
    /// The upstream commit the copy was at (the merge base).
    pub base: Option<Vec<u8>>,
    /// The wrapper's HEAD.
    pub ours: Option<Vec<u8>>,
    /// The target upstream commit.
    pub theirs: Option<Vec<u8>>,
}

fn is_marker(line: &str) -> bool {
    let line = line.trim_end_matches(['\r', '\n']);
    MARKERS.iter().any(|m| {
        if *m == "=======" {
            line == *m
        } else {
            line.starts_with(m) || (m.trim_end() == line)
        }
    })
}

/// The marker lines of `text`, 1-based. `strict` (a file the merge left
/// in conflict): every marker line counts; otherwise (any other changed
/// file, where a Markdown heading may be underlined with `=======`) the
/// separators count only inside an opened `<<<<<<<` block.
pub fn marker_lines_in(text: &str, strict: bool) -> Vec<usize> {
    let mut open = false;
    let mut out = Vec::new();
    for (i, l) in text.lines().enumerate() {
        if !is_marker(l) {
            continue;
        }
        let opening = l.starts_with("<<<<<<<");
        let closing = l.starts_with(">>>>>>>");
        if strict || opening || closing || open {
            out.push(i + 1);
        }
        if opening {
            open = true;
        } else if closing {
            open = false;
        }
    }
    out
}

/// The conflicting regions of `text` (`<<<<<<<` to `>>>>>>>`), 1-based.
pub fn hunks_in(path: &str, text: &str) -> Vec<MarkedHunk> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, l) in text.lines().enumerate() {
        if l.starts_with("<<<<<<< ") || l == "<<<<<<<" {
            start = Some(i + 1);
        } else if (l.starts_with(">>>>>>> ") || l == ">>>>>>>")
            && let Some(s) = start.take()
        {
            out.push(MarkedHunk {
                path: path.to_owned(),
                start: s,
                end: i + 1,
            });
        }
    }
    out
}

/// Writes the merged index's clean entries into the staged tree under
/// `prefix` and removes the files the merge deleted, so that beside the
/// conflicted files (written by the caller) the tree holds the whole merge.
pub(super) fn write_clean_merge(
    repo: &Repository,
    dir: &Path,
    prefix: &str,
    clean_part: &Tree<'_>,
    conflicted: &BTreeSet<String>,
    ours: &Tree<'_>,
) -> Result<(), UpdateError> {
    let mut in_merge = BTreeSet::new();
    let mut entries = Vec::new();
    clean_part
        .walk(TreeWalkMode::PreOrder, |root, entry| {
            let p = format!("{root}{}", entry.name().unwrap_or_default());
            if entry.kind() == Some(ObjectType::Blob) {
                entries.push((p.clone(), entry.id(), entry.filemode() as u32));
            }
            in_merge.insert(p);
            TreeWalkResult::Ok
        })
        .map_err(git_err("listing the merged tree", dir))?;
    for (inner, id, mode) in entries {
        if mode == GITLINK {
            continue;
        }
        let same = ours
            .get_path(Path::new(&inner))
            .is_ok_and(|o| o.id() == id && o.filemode() as u32 == mode);
        if same {
            continue;
        }
        let path = dir.join(prefix).join(&inner);
        let blob = repo
            .find_blob(id)
            .map_err(git_err(format!("reading the merged `{inner}`"), dir))?;
        write_entry(&path, blob.content(), mode)?;
    }
    let mut gone = Vec::new();
    ours.walk(TreeWalkMode::PreOrder, |root, entry| {
        if entry.kind() == Some(ObjectType::Blob) {
            let p = format!("{root}{}", entry.name().unwrap_or_default());
            if !in_merge.contains(&p) && !conflicted.contains(&p) {
                gone.push(p);
            }
        }
        TreeWalkResult::Ok
    })
    .map_err(git_err("listing the wrapper's copy", dir))?;
    for p in gone {
        let path = dir.join(prefix).join(&p);
        match fs_err::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err("remove", &path)(e)),
        }
    }
    Ok(())
}

fn write_entry(path: &Path, content: &[u8], mode: u32) -> Result<(), UpdateError> {
    if let Some(parent) = path.parent() {
        fs_err::create_dir_all(parent).map_err(io_err("create", parent))?;
    }
    if path.symlink_metadata().is_ok() {
        fs_err::remove_file(path).map_err(io_err("replace", path))?;
    }
    if mode == 0o120000 {
        let target = String::from_utf8_lossy(content).into_owned();
        return std::os::unix::fs::symlink(&target, path).map_err(io_err("link", path));
    }
    fs_err::write(path, content).map_err(io_err("write", path))?;
    if mode == 0o100755 {
        use std::os::unix::fs::PermissionsExt;
        fs_err::set_permissions(path, std::fs::Permissions::from_mode(0o755))
            .map_err(io_err("make executable", path))?;
    }
    Ok(())
}

/// Whether `path` is one of the live tree's uncommitted files (copied in,
/// never committed by tether).
fn is_dirty(backup: &Backup, path: &str) -> bool {
    backup
        .dirty
        .iter()
        .any(|d| d.path == path || path.starts_with(&format!("{}/", d.path)))
}

/// Files of the staged tree that differ from its HEAD (untracked ones
/// included), but for the live tree's uncommitted files.
pub fn changed_in_staged(backup: &Backup, dir: &Path) -> Result<Vec<String>, UpdateError> {
    let repo = Repository::open(dir).map_err(git_err("opening the staged tree", dir))?;
    let mut opts = git2::StatusOptions::new();
    opts.include_untracked(true)
        .recurse_untracked_dirs(true)
        .include_ignored(false);
    let statuses = repo
        .statuses(Some(&mut opts))
        .map_err(git_err("reading the staged tree's status", dir))?;
    let mut out: Vec<String> = statuses
        .iter()
        .filter_map(|e| e.path().ok().map(str::to_owned))
        .filter(|p| !is_dirty(backup, p))
        .collect();
    out.sort();
    Ok(out)
}

/// Conflict markers left in `files` (and every changed file of the staged
/// tree), in path and line order.
pub fn markers_left(
    backup: &Backup,
    dir: &Path,
    files: &[String],
) -> Result<Vec<MarkerLine>, UpdateError> {
    let mut paths: BTreeSet<String> = files.iter().cloned().collect();
    paths.extend(changed_in_staged(backup, dir)?);
    let mut out = Vec::new();
    for p in paths {
        let full = dir.join(&p);
        if !full.is_file() {
            continue;
        }
        let bytes = fs_err::read(&full).map_err(io_err("read", &full))?;
        if bytes.contains(&0) {
            continue;
        }
        let text = String::from_utf8_lossy(&bytes);
        let strict = files.contains(&p);
        out.extend(
            marker_lines_in(&text, strict)
                .into_iter()
                .map(|line| MarkerLine {
                    path: p.clone(),
                    line,
                }),
        );
    }
    Ok(out)
}

/// Commits everything the staged tree changed (a resolution: the merged
/// copy, the record file) on the staged branch, but for the live tree's
/// uncommitted files. Returns the staged head after it, and whether a
/// commit was made (none when HEAD already has it: a `--continue`
/// interrupted after its commit).
pub fn commit_resolution(
    cfg: &Config,
    backup: &Backup,
    dir: &Path,
    message: &str,
) -> Result<(String, bool), UpdateError> {
    let repo = Repository::open(dir).map_err(git_err("opening the staged tree", dir))?;
    let mut index = repo.index().map_err(git_err("reading the index", dir))?;
    let mut skip = |path: &Path, _: &[u8]| -> i32 { i32::from(is_dirty(backup, &rel_str(path))) };
    index
        .add_all(["*"], IndexAddOption::DEFAULT, Some(&mut skip))
        .and_then(|()| index.update_all(["*"], Some(&mut skip)))
        .and_then(|()| index.write())
        .map_err(git_err("adding the resolution", dir))?;
    let tree = index.write_tree().map_err(git_err("writing a tree", dir))?;
    let head = repo
        .head()
        .and_then(|h| h.peel_to_commit())
        .map_err(git_err("reading the staged HEAD", dir))?;
    if head.tree_id() == tree {
        return Ok((head.id().to_string(), false));
    }
    Ok((
        commit_tree(cfg, &repo, dir, tree, message)?.to_string(),
        true,
    ))
}

/// The base, ours and theirs versions of the conflicted `rel` (relative to
/// the wrapper root) of a vendored copy at `prefix`: base at upstream
/// commit `from`, ours in the staged repository's commit `head`, theirs at
/// `to`.
pub fn conflict_versions(
    dir: &Path,
    prefix: &str,
    rel: &str,
    commits: (Oid, Oid, Oid),
) -> Result<ConflictVersions, UpdateError> {
    let (from, head, to) = commits;
    let repo = Repository::open(dir).map_err(git_err("opening the staged tree", dir))?;
    let inner = rel
        .strip_prefix(prefix)
        .map(|r| r.trim_start_matches('/'))
        .unwrap_or(rel);
    let blob_at = |commit: Oid, path: &str| -> Option<Vec<u8>> {
        let tree = repo.find_commit(commit).ok()?.tree().ok()?;
        let entry = tree.get_path(Path::new(path)).ok()?;
        let blob = repo.find_blob(entry.id()).ok()?;
        Some(blob.content().to_vec())
    };
    Ok(ConflictVersions {
        base: blob_at(from, inner),
        ours: blob_at(head, rel),
        theirs: blob_at(to, inner),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_are_found_at_line_starts_only() {
        let text = "a\n<<<<<<< wrapper\nb\n||||||| base\nc\n=======\nd\n>>>>>>> upstream 1234567\ne\n x = '======='\n========\n";
        assert_eq!(marker_lines_in(text, true), vec![2, 4, 6, 8]);
        assert_eq!(marker_lines_in(text, false), vec![2, 4, 6, 8]);
        // a heading underline outside a block is a marker only in a
        // conflicted file
        let doc = "Title\n=======\n\ntext\n";
        assert_eq!(marker_lines_in(doc, true), vec![2]);
        assert!(marker_lines_in(doc, false).is_empty());
        assert_eq!(
            hunks_in("f.py", text),
            vec![MarkedHunk {
                path: "f.py".into(),
                start: 2,
                end: 8
            }]
        );
        assert!(marker_lines_in("clean\n", true).is_empty());
    }
}
