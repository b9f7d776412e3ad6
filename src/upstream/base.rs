//! Owns finding the base of a vendored copy: the upstream commit whose files
//! the copy matches best. The copy's blob ids are compared with the tracked
//! tip's tree once, then the first-parent line is walked back to the root
//! applying each commit's tree diff to a running score (a diff that enters
//! only the subtrees whose ids differ and never reads a blob), so a history
//! of thousands of commits costs one small tree diff per commit. The recorded commit is scored
//! too when it is not on that line.

use std::collections::{HashMap, HashSet};

use git2::{Commit, Oid, Repository, Tree};
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
            let mut changes = Vec::new();
            diff_trees(repo, &tree, &ptree, "", &mut changes)
                .map_err(git_err(name, "diffing the upstream's history"))?;
            for (path, before, after) in changes {
                if skipped(&path) || record_path == Some(path.as_str()) {
                    continue;
                }
                let before = kind(copy, &path, before);
                let after = kind(copy, &path, after);
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

/// What a tree entry is, for the search.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Entry {
    Blob(Oid),
    Tree(Oid),
    /// A nested submodule or anything else: no file.
    Other,
}

fn entry(e: &git2::TreeEntry<'_>) -> Entry {
    match e.filemode() {
        0o100644 | 0o100755 | 0o100664 | 0o120000 => Entry::Blob(e.id()),
        0o040000 => Entry::Tree(e.id()),
        _ => Entry::Other,
    }
}

/// The files that differ between two trees as (path, blob before, blob
/// after), reading only the subtrees whose ids differ.
fn diff_trees(
    repo: &Repository,
    old: &Tree<'_>,
    new: &Tree<'_>,
    prefix: &str,
    out: &mut Vec<(String, Option<Oid>, Option<Oid>)>,
) -> Result<(), git2::Error> {
    let olds: HashMap<Vec<u8>, Entry> = old
        .iter()
        .map(|e| (e.name_bytes().to_vec(), entry(&e)))
        .collect();
    let mut seen = 0usize;
    for e in new.iter() {
        let name = e.name_bytes();
        let after = entry(&e);
        let before = olds.get(name).copied().unwrap_or(Entry::Other);
        if olds.contains_key(name) {
            seen += 1;
        }
        if before != after {
            let path = format!("{prefix}{}", String::from_utf8_lossy(name));
            changed(repo, &path, before, after, out)?;
        }
    }
    if seen < olds.len() {
        let news: HashSet<Vec<u8>> = new.iter().map(|e| e.name_bytes().to_vec()).collect();
        for e in old.iter() {
            if !news.contains(e.name_bytes()) {
                let path = format!("{prefix}{}", String::from_utf8_lossy(e.name_bytes()));
                changed(repo, &path, entry(&e), Entry::Other, out)?;
            }
        }
    }
    Ok(())
}

/// One entry that differs: files compared, folders entered.
fn changed(
    repo: &Repository,
    path: &str,
    before: Entry,
    after: Entry,
    out: &mut Vec<(String, Option<Oid>, Option<Oid>)>,
) -> Result<(), git2::Error> {
    if skipped(path) {
        return Ok(());
    }
    let dir = format!("{path}/");
    match (before, after) {
        (Entry::Tree(a), Entry::Tree(b)) => {
            diff_trees(repo, &repo.find_tree(a)?, &repo.find_tree(b)?, &dir, out)
        }
        (Entry::Tree(a), other) => {
            every_blob(repo, &repo.find_tree(a)?, &dir, &mut |p, id| {
                out.push((p, Some(id), None))
            })?;
            changed(repo, path, Entry::Other, other, out)
        }
        (other, Entry::Tree(b)) => {
            changed(repo, path, other, Entry::Other, out)?;
            every_blob(repo, &repo.find_tree(b)?, &dir, &mut |p, id| {
                out.push((p, None, Some(id)))
            })
        }
        (a, b) => {
            let blob = |e| match e {
                Entry::Blob(id) => Some(id),
                _ => None,
            };
            if blob(a) != blob(b) {
                out.push((path.to_owned(), blob(a), blob(b)));
            }
            Ok(())
        }
    }
}

fn every_blob(
    repo: &Repository,
    tree: &Tree<'_>,
    prefix: &str,
    f: &mut dyn FnMut(String, Oid),
) -> Result<(), git2::Error> {
    for e in tree.iter() {
        let path = format!("{prefix}{}", String::from_utf8_lossy(e.name_bytes()));
        match entry(&e) {
            Entry::Blob(id) => f(path, id),
            Entry::Tree(id) => every_blob(repo, &repo.find_tree(id)?, &format!("{path}/"), f)?,
            Entry::Other => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    type Change = (String, Option<Oid>, Option<Oid>);

    fn tree_of(repo: &Repository, files: &[(&str, &str)]) -> Oid {
        let mut index = git2::Index::new().unwrap();
        for (path, text) in files {
            let id = repo.blob(text.as_bytes()).unwrap();
            let mut e = git2::IndexEntry {
                ctime: git2::IndexTime::new(0, 0),
                mtime: git2::IndexTime::new(0, 0),
                dev: 0,
                ino: 0,
                mode: 0o100644,
                uid: 0,
                gid: 0,
                file_size: text.len() as u32,
                id,
                flags: 0,
                flags_extended: 0,
                path: path.as_bytes().to_vec(),
            };
            e.flags = path.len().min(0xfff) as u16;
            index.add(&e).unwrap();
        }
        index.write_tree_to(repo).unwrap()
    }

    /// git2's own diff of the two trees, as (path, before, after).
    fn git2_diff(repo: &Repository, a: &Tree<'_>, b: &Tree<'_>) -> Vec<Change> {
        let diff = repo.diff_tree_to_tree(Some(a), Some(b), None).unwrap();
        let side = |f: git2::DiffFile<'_>| (f.exists() && !f.id().is_zero()).then(|| f.id());
        let mut out: Vec<Change> = diff
            .deltas()
            .map(|d| {
                let path = d.new_file().path().or(d.old_file().path()).unwrap();
                (
                    path.to_string_lossy().into_owned(),
                    side(d.old_file()),
                    side(d.new_file()),
                )
            })
            .collect();
        out.sort();
        out
    }

    #[test]
    fn tree_diff_matches_git2() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init_bare(dir.path()).unwrap();
        let a = tree_of(
            &repo,
            &[
                ("a.py", "1"),
                ("pkg/x.py", "x"),
                ("pkg/sub/y.py", "y"),
                ("pkg/sub/z.py", "z"),
                ("gone/one.txt", "1"),
                ("becomes_dir", "file"),
                ("same/s.txt", "s"),
            ],
        );
        let b = tree_of(
            &repo,
            &[
                ("a.py", "2"),
                ("pkg/x.py", "x"),
                ("pkg/sub/y.py", "y2"),
                ("pkg/new.py", "n"),
                ("becomes_dir/inner.txt", "i"),
                ("same/s.txt", "s"),
                ("zz.txt", "z"),
            ],
        );
        let (a, b) = (repo.find_tree(a).unwrap(), repo.find_tree(b).unwrap());
        for (x, y) in [(&a, &b), (&b, &a)] {
            let mut ours = Vec::new();
            diff_trees(&repo, x, y, "", &mut ours).unwrap();
            ours.sort();
            assert_eq!(ours, git2_diff(&repo, x, y));
        }
    }
}
