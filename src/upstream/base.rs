//! Owns finding the base of a vendored copy: the upstream commit whose files
//! the copy matches best. The copy's blob ids are compared with the tracked
//! tip's tree once, then the first-parent line is walked back to the root
//! applying each commit's tree diff to a running score (git2's tree diffs
//! skip unchanged subtrees and never read blobs), so a history of thousands
//! of commits costs one tree diff per commit. The recorded commit is scored
//! too when it is not on that line.

use git2::{Commit, DiffOptions, FileMode, Oid, Repository};
use serde::Serialize;

use super::copy::{CopyFiles, TreeFiles, skipped};
use super::error::{UpstreamError, git_err};

/// What base detection found for a vendored copy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BaseDetection {
    /// The commit the record file names, when it names exactly one commit
    /// the upstream has.
    pub recorded: Option<String>,
    /// The commit the copy matches best (full hash).
    pub detected: String,
    /// Upstream files of the detected commit the copy has unchanged.
    pub same: usize,
    /// Upstream files the copy has with other content.
    pub modified: usize,
    /// Files of the copy the detected commit does not have (ignored ones not
    /// counted).
    pub local_only: usize,
    /// Upstream files the copy does not have.
    pub deleted: usize,
    /// Commits compared.
    pub candidates_scanned: usize,
    /// What to tell the reader when the record is wrong or bad (also among
    /// the current commit's warnings).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl BaseDetection {
    /// Whether the detected base is the recorded commit.
    pub fn agrees(&self) -> bool {
        self.recorded.as_deref() == Some(self.detected.as_str())
    }
}

/// How a copy compares with one upstream tree.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Score {
    pub same: i64,
    pub modified: i64,
    pub local_only: i64,
    pub deleted: i64,
}

impl Score {
    /// The copy is exactly this tree.
    pub fn is_exact(&self) -> bool {
        self.modified == 0 && self.local_only == 0 && self.deleted == 0
    }

    /// Better first: most identical files, then fewest modified and
    /// deleted.
    fn key(&self) -> (i64, i64) {
        (self.same, -(self.modified + self.deleted))
    }

    fn add(&mut self, kind: Kind, sign: i64) {
        match kind {
            Kind::Same => self.same += sign,
            Kind::Modified => self.modified += sign,
            Kind::LocalOnly => self.local_only += sign,
            Kind::Deleted => self.deleted += sign,
            Kind::Nothing => {}
        }
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Same,
    Modified,
    LocalOnly,
    Deleted,
    Nothing,
}

/// What `path` counts as when the upstream has blob `up` there (`None`: no
/// file).
fn kind(copy: &mut CopyFiles<'_>, path: &str, up: Option<Oid>) -> Kind {
    match up {
        Some(_) if !copy.contains(path) => Kind::Deleted,
        Some(id) if copy.is_same(path, id) => Kind::Same,
        Some(_) => Kind::Modified,
        None if copy.contains(path) && !copy.is_ignored(path) => Kind::LocalOnly,
        None => Kind::Nothing,
    }
}

/// The score of the copy against a whole tree.
pub(super) fn full_score(copy: &mut CopyFiles<'_>, tree: &TreeFiles) -> Score {
    let mut s = Score::default();
    for (path, id) in &tree.blobs {
        s.add(kind(copy, path, Some(*id)), 1);
    }
    let local: Vec<String> = copy
        .paths()
        .filter(|p| !tree.blobs.contains_key(*p))
        .cloned()
        .collect();
    for p in local {
        s.add(kind(copy, &p, None), 1);
    }
    s
}

/// The best candidate so far.
pub(super) struct Found {
    pub id: Oid,
    pub score: Score,
    pub scanned: usize,
}

struct Candidate {
    id: Oid,
    score: Score,
    is_record: bool,
    /// Place on the first-parent line, 0 at the tip (newer is smaller).
    depth: usize,
}

impl Candidate {
    fn better_than(&self, other: &Candidate) -> bool {
        let a = (
            self.score.key(),
            self.is_record,
            std::cmp::Reverse(self.depth),
        );
        let b = (
            other.score.key(),
            other.is_record,
            std::cmp::Reverse(other.depth),
        );
        a > b
    }
}

/// Finds the commit the copy matches best among the first-parent line from
/// `tip` and the `recorded` commit. `None` when there is no commit at all.
pub(super) fn detect(
    repo: &Repository,
    copy: &mut CopyFiles<'_>,
    tip: Option<Oid>,
    recorded: Option<Oid>,
    record_path: Option<&str>,
    name: &str,
) -> Result<Option<Found>, UpstreamError> {
    let mut best: Option<Candidate> = None;
    let mut scanned = 0usize;
    let mut on_line = false;
    if let Some(tip) = tip {
        let mut commit: Commit<'_> = repo
            .find_commit(tip)
            .map_err(git_err(name, "reading the tracked tip"))?;
        let mut tree = commit
            .tree()
            .map_err(git_err(name, "reading the tracked tip's tree"))?;
        let mut score = full_score(copy, &TreeFiles::read(&tree, record_path, name)?);
        let mut depth = 0usize;
        let mut opts = DiffOptions::new();
        opts.skip_binary_check(true);
        loop {
            scanned += 1;
            let is_record = Some(commit.id()) == recorded;
            on_line |= is_record;
            consider(
                Candidate {
                    id: commit.id(),
                    score,
                    is_record,
                    depth,
                },
                &mut best,
            );
            // a shallow or damaged mirror ends the line early
            let Ok(parent) = commit.parent(0) else { break };
            let Ok(ptree) = parent.tree() else { break };
            let diff = repo
                .diff_tree_to_tree(Some(&tree), Some(&ptree), Some(&mut opts))
                .map_err(git_err(name, "diffing the upstream's history"))?;
            for delta in diff.deltas() {
                let (old, new) = (delta.old_file(), delta.new_file());
                let Some(path) = new.path().or(old.path()).and_then(|p| p.to_str()) else {
                    continue;
                };
                if skipped(path) || record_path == Some(path) {
                    continue;
                }
                let before = kind(copy, path, blob(&old));
                let after = kind(copy, path, blob(&new));
                score.add(before, -1);
                score.add(after, 1);
            }
            commit = parent;
            tree = ptree;
            depth += 1;
        }
    }
    if let Some(rec) = recorded.filter(|_| !on_line) {
        let tree = repo
            .find_commit(rec)
            .and_then(|c| c.tree())
            .map_err(git_err(name, "reading the recorded commit's tree"))?;
        let score = full_score(copy, &TreeFiles::read(&tree, record_path, name)?);
        scanned += 1;
        consider(
            Candidate {
                id: rec,
                score,
                is_record: true,
                depth: usize::MAX,
            },
            &mut best,
        );
    }
    Ok(best.map(|b| Found {
        id: b.id,
        score: b.score,
        scanned,
    }))
}

fn consider(c: Candidate, best: &mut Option<Candidate>) {
    if best.as_ref().is_none_or(|b| c.better_than(b)) {
        *best = Some(c);
    }
}

/// The blob a side of a delta has, `None` when that side has no file there
/// (or a folder or nested submodule).
fn blob(f: &git2::DiffFile<'_>) -> Option<Oid> {
    let file = matches!(
        f.mode(),
        FileMode::Blob | FileMode::BlobExecutable | FileMode::BlobGroupWritable | FileMode::Link
    );
    (f.exists() && file && !f.id().is_zero()).then(|| f.id())
}
