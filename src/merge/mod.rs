//! Owns the 3-way merge of the wrapper's local modifications with the
//! upstream's change: one file at a time (`merge_file`, pure, used by staging
//! and by the analysis's dry merge) and a whole tree (`tree::merge_trees`,
//! libgit2's merge first, then every conflicted file again through
//! `merge_file`). Python files merge definition by definition on
//! tree-sitter's syntax tree (`python`), JSON files key by key (`json`),
//! everything else line by line with libgit2 (`line`). It does not stage,
//! write files or decide what a conflict means for an update.

mod file;
mod json;
mod line;
mod python;
mod tree;
mod units;

#[cfg(test)]
mod tests;

use std::fmt;

use serde::Serialize;

pub use file::merge_file;
pub use line::conflict_hunks;
pub use tree::{MergedTree, TreeConflict, merge_trees};

/// The three versions of one file; `None` where the file does not exist.
#[derive(Debug, Clone, Copy)]
pub struct Sides<'a> {
    pub base: Option<&'a [u8]>,
    /// The wrapper's version (its local modifications).
    pub ours: Option<&'a [u8]>,
    /// The upstream's target version.
    pub theirs: Option<&'a [u8]>,
}

/// The names written after the conflict markers.
#[derive(Debug, Clone, Copy)]
pub struct Labels<'a> {
    pub ours: &'a str,
    pub theirs: &'a str,
    pub base: &'a str,
}

/// How one file came out of the merge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileMerge {
    Clean {
        /// The merged bytes; `None` when the file is deleted.
        content: Option<Vec<u8>>,
        method: Method,
        note: Option<String>,
    },
    Conflict {
        /// The file as it is left: conflict markers around each conflicting
        /// region (or the one side that still exists).
        content: Vec<u8>,
        /// Each marked region of `content`.
        hunks: Vec<ConflictHunk>,
        reason: ConflictReason,
        note: Option<String>,
    },
}

/// How a file merged cleanly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// Only one side changed it (or both made the same change).
    OneSide,
    /// libgit2's line merge.
    Line,
    /// The definition-level merge of a Python file.
    Definitions,
    /// The key-wise merge of a JSON file.
    JsonKeys,
    /// Deleted by the wrapper and changed by the upstream: it stays deleted.
    KeptDeletion,
}

/// Why a file did not merge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConflictReason {
    /// Both sides changed the same lines (of the same definition or key).
    BothChanged,
    /// Both sides added the file with different contents.
    BothAdded,
    /// The wrapper changed a file the upstream deleted: taking the
    /// deletion would lose the wrapper's patch.
    DeletedUpstream,
    /// A binary file changed on both sides.
    Binary,
}

impl fmt::Display for ConflictReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::BothChanged => "changed by the wrapper and by the upstream in the same place",
            Self::BothAdded => "added by both the wrapper and the upstream",
            Self::DeletedUpstream => "modified by the wrapper, deleted by the upstream",
            Self::Binary => "a binary file changed by both the wrapper and the upstream",
        })
    }
}

/// One region between conflict markers: 1-based, inclusive line numbers of
/// its `<<<<<<<` and `>>>>>>>` lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ConflictHunk {
    pub start: usize,
    pub end: usize,
}

/// Files merged (both sides changed them, or one side deleted them) by
/// each method, and the conflicts left.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct MergeStats {
    pub one_side: usize,
    pub line: usize,
    pub definitions: usize,
    pub json_keys: usize,
    pub kept_deletions: usize,
    pub conflicts: usize,
}

impl MergeStats {
    pub fn count(&mut self, method: Method) {
        match method {
            Method::OneSide => self.one_side += 1,
            Method::Line => self.line += 1,
            Method::Definitions => self.definitions += 1,
            Method::JsonKeys => self.json_keys += 1,
            Method::KeptDeletion => self.kept_deletions += 1,
        }
    }

    /// Files merged cleanly, all methods together.
    pub fn clean(&self) -> usize {
        self.one_side + self.line + self.definitions + self.json_keys + self.kept_deletions
    }
}

impl fmt::Display for MergeStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = |n: usize| if n == 1 { "" } else { "s" };
        write!(
            f,
            "{} file{} merged cleanly ({} by one side, {} by line merge, {} by definitions, {} by JSON keys, {} deletion{} kept), {} conflict{}",
            self.clean(),
            s(self.clean()),
            self.one_side,
            self.line,
            self.definitions,
            self.json_keys,
            self.kept_deletions,
            s(self.kept_deletions),
            self.conflicts,
            s(self.conflicts)
        )
    }
}

/// A tree merge's statistics and the notes its files left (each naming its
/// file), as the update report shows them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MergeSummary {
    pub stats: MergeStats,
    pub notes: Vec<FileNote>,
}

/// Something worth knowing about how one file merged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileNote {
    pub path: String,
    pub note: String,
}

impl fmt::Display for FileNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}`: {}", self.path, self.note)
    }
}
