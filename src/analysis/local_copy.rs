//! Owns the vendored copy's local patch as a fact of the analysis: which
//! files the copy changed against its base, their contents (from the
//! working tree or the wrapper's HEAD, per `project.wrapper_source`), the
//! copy's Python indexed where it differs from the base, and each file's
//! predicted carry-forward (a dry 3-way merge of base, copy and target).
//! It does not decide what a finding says; `python::resolve` does.

use crate::merge::{FileMerge, Labels, Sides, merge_file};
use std::collections::BTreeMap;
use std::path::Path;

use git2::{Oid, Repository};
use serde::Serialize;

use super::diff::{self, DiffError};
use super::python::{
    self, Carry, ConflictHunk, LocalChange, LocalCopy, LocalFile, SourceFile, UpstreamIndex,
};
use crate::config::{Config, UpstreamConfig, WrapperSource};
use crate::upstream::{Change, LocalMods};

/// The local patch summary the diff report shows.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LocalPatch {
    pub modified: usize,
    pub added: usize,
    pub deleted: usize,
    /// Every file the copy changed, with its predicted carry-forward.
    pub files: Vec<LocalPatchFile>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LocalPatchFile {
    /// Relative to the upstream root.
    pub path: String,
    pub change: LocalChange,
    #[serde(flatten)]
    pub carry: Carry,
}

impl LocalPatch {
    /// Files whose patch the update is predicted to conflict on or lose.
    pub fn at_risk(&self) -> impl Iterator<Item = &LocalPatchFile> {
        self.files.iter().filter(|f| {
            matches!(
                f.carry,
                Carry::Conflicts { .. } | Carry::LostUpstreamDeleted
            )
        })
    }
}

/// The commits a local patch is read against.
#[derive(Debug, Clone, Copy)]
pub struct Range {
    /// The copy's base: the patch is against it.
    pub base: Oid,
    /// The update's target: the carry-forward is predicted to it.
    pub target: Oid,
}

/// The local patch of `mods` (against `range.base`), read and indexed over
/// `base_index`, with each file's carry-forward to `range.target` predicted.
pub fn read(
    cfg: &Config,
    up: &UpstreamConfig,
    repo: &Repository,
    range: Range,
    mods: &LocalMods,
    base_index: &UpstreamIndex,
    notes: &mut Vec<String>,
) -> Result<(LocalCopy, LocalPatch), DiffError> {
    let reader = CopyReader::new(cfg, up);
    let mut copy = LocalCopy {
        index: base_index.clone(),
        files: BTreeMap::new(),
    };
    let mut patch = LocalPatch {
        modified: mods.modified,
        added: mods.added,
        deleted: mods.deleted,
        files: Vec::new(),
    };
    let mut python_files = Vec::new();
    for f in &mods.files {
        let change = match f.change {
            Change::Modified => LocalChange::Modified,
            Change::Added => LocalChange::Added,
            Change::Deleted => LocalChange::Deleted,
        };
        let old = diff::read_blob(repo, range.base, &f.path)?;
        let new = diff::read_blob(repo, range.target, &f.path)?;
        let ours = match change {
            LocalChange::Deleted => None,
            _ => match reader.read(&f.path) {
                Ok(bytes) => Some(bytes),
                Err(detail) => {
                    notes.push(format!(
                        "vendored file `{}` could not be read ({detail}); its local patch is not analysed",
                        f.path
                    ));
                    continue;
                }
            },
        };
        let carry = predict_carry(&f.path, old.as_deref(), ours.as_deref(), new.as_deref());
        if let (Some(text), true) = (&ours, f.path.ends_with(".py")) {
            if text.len() as u64 <= cfg.analysis.max_file_bytes {
                python_files.push(SourceFile::new(
                    f.path.clone(),
                    String::from_utf8_lossy(text).into_owned(),
                ));
            }
        }
        if change == LocalChange::Deleted {
            if let Some(m) = python::module_name(&f.path) {
                copy.index.modules.remove(&m);
            }
        }
        copy.files.insert(
            f.path.clone(),
            LocalFile {
                change,
                carry: carry.clone(),
            },
        );
        patch.files.push(LocalPatchFile {
            path: f.path.clone(),
            change,
            carry,
        });
    }
    copy.index.merge(python::index_upstream(&python_files));
    Ok((copy, patch))
}

/// Reads a file of the vendored copy the way `current_commit` compared it.
struct CopyReader {
    dir: std::path::PathBuf,
    rel: std::path::PathBuf,
    repo: Option<Repository>,
}

impl CopyReader {
    fn new(cfg: &Config, up: &UpstreamConfig) -> Self {
        let repo = (cfg.project.wrapper_source == WrapperSource::Committed)
            .then(|| Repository::open(&cfg.project.root).ok())
            .flatten();
        Self {
            dir: cfg.project.root.join(&up.path),
            rel: up.path.clone(),
            repo,
        }
    }

    fn read(&self, path: &str) -> Result<Vec<u8>, String> {
        match &self.repo {
            Some(repo) => {
                let full = self.rel.join(path);
                repo.head()
                    .and_then(|h| h.peel_to_tree())
                    .and_then(|t| t.get_path(Path::new(&full)))
                    .and_then(|e| e.to_object(repo))
                    .and_then(|o| o.peel_to_blob())
                    .map(|b| b.content().to_vec())
                    .map_err(|e| format!("in the wrapper's HEAD: {}", e.message()))
            }
            None => fs_err::read(self.dir.join(path)).map_err(|e| e.to_string()),
        }
    }
}

/// How the local version `ours` of `path` fares when the update merges the
/// upstream's move from `base` to `theirs` into it. `None` is a missing
/// file on that side.
///
/// The one place the prediction is made: a dry run of the merge the
/// update's staging does (`merge::merge_file`: by lines, then by Python
/// definitions or JSON keys).
pub fn predict_carry(
    path: &str,
    base: Option<&[u8]>,
    ours: Option<&[u8]>,
    theirs: Option<&[u8]>,
) -> Carry {
    if base == theirs || ours == theirs {
        return Carry::Kept;
    }
    let (ours, theirs) = match (ours, theirs) {
        (Some(o), Some(t)) => (o, t),
        (None, _) if base.is_some() => return Carry::KeptDeletion,
        (None, _) => return Carry::Kept,
        (Some(_), None) => return Carry::LostUpstreamDeleted,
    };
    let sides = Sides {
        base,
        ours: Some(ours),
        theirs: Some(theirs),
    };
    let labels = Labels {
        ours: "local copy",
        theirs: "upstream",
        base: "base",
    };
    match merge_file(path, &sides, &labels) {
        FileMerge::Clean { .. } => Carry::Clean,
        FileMerge::Conflict { content, .. } => Carry::Conflicts {
            hunks: conflict_hunks(&String::from_utf8_lossy(&content)),
        },
    }
}

/// The conflict regions of a merged text with `<<<<<<<`/`=======`/
/// `>>>>>>>` markers.
fn conflict_hunks(merged: &str) -> Vec<ConflictHunk> {
    enum Side {
        Outside,
        Ours,
        Theirs,
    }
    let mut out = Vec::new();
    let mut side = Side::Outside;
    let mut current = ConflictHunk {
        line: 0,
        local_lines: 0,
        upstream_lines: 0,
    };
    for (i, l) in merged.lines().enumerate() {
        match side {
            Side::Outside if l.starts_with("<<<<<<<") => {
                current = ConflictHunk {
                    line: i + 1,
                    local_lines: 0,
                    upstream_lines: 0,
                };
                side = Side::Ours;
            }
            Side::Ours if l.starts_with("=======") => side = Side::Theirs,
            Side::Ours => current.local_lines += 1,
            Side::Theirs if l.starts_with(">>>>>>>") => {
                out.push(current.clone());
                side = Side::Outside;
            }
            Side::Theirs => current.upstream_lines += 1,
            Side::Outside => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_unchanged_keeps_the_patch() {
        let c = predict_carry("a.py", Some(b"x\n"), Some(b"y\n"), Some(b"x\n"));
        assert_eq!(c, Carry::Kept);
    }

    #[test]
    fn edits_far_apart_merge_cleanly() {
        let base = b"a = 1\nb = 2\nc = 3\nd = 4\ne = 5\n";
        let ours = b"a = 1\nb = 2\nc = 3\nd = 4\ne = 5\ndef local():\n    pass\n";
        let theirs = b"a = 10\nb = 2\nc = 3\nd = 4\ne = 5\n";
        let c = predict_carry("a.py", Some(base), Some(ours), Some(theirs));
        assert_eq!(c, Carry::Clean);
    }

    #[test]
    fn edits_of_one_line_conflict_with_hunks() {
        let base = b"a = 1\nb = 2\n";
        let ours = b"a = 2\nb = 2\n";
        let theirs = b"a = 3\nb = 2\n";
        let c = predict_carry("a.py", Some(base), Some(ours), Some(theirs));
        assert_eq!(
            c,
            Carry::Conflicts {
                hunks: vec![ConflictHunk {
                    line: 1,
                    local_lines: 1,
                    upstream_lines: 1
                }]
            }
        );
    }

    #[test]
    fn upstream_deletion_loses_the_patch_and_local_deletion_stays() {
        let c = predict_carry("a.py", Some(b"x\n"), Some(b"y\n"), None);
        assert_eq!(c, Carry::LostUpstreamDeleted);
        let c = predict_carry("a.py", Some(b"x\n"), None, Some(b"z\n"));
        assert_eq!(c, Carry::KeptDeletion);
        let c = predict_carry("a.py", Some(b"x\n"), None, Some(b"x\n"));
        assert_eq!(c, Carry::Kept);
        // added locally only
        let c = predict_carry("a.py", None, Some(b"y\n"), None);
        assert_eq!(c, Carry::Kept);
    }
}
