//! Owns the file-level diff between two upstream commits: which files were
//! added, removed, modified or renamed (git2, with rename detection), their
//! line counts, and unified diff text for the configured key files.

use std::collections::HashMap;
use std::path::Path;

use git2::{Delta, DiffFindOptions, FileMode, ObjectType, Oid, Repository, Tree};
use globset::GlobSet;
use serde::{Deserialize, Serialize};
use similar::TextDiff;

/// Unified diff text longer than this is cut and marked `truncated`.
pub const MAX_UNIFIED_BYTES: usize = 200 * 1024;

/// Rename detection threshold (percent), git's default.
const RENAME_THRESHOLD: u16 = 50;

/// What to diff in detail.
#[derive(Debug, Clone)]
pub struct DiffOptions {
    /// Files whose text diff is produced (`KeyFileDiff`).
    pub key_files: GlobSet,
    /// Blobs larger than this are listed but neither counted nor diffed.
    pub max_file_bytes: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeStatus {
    Added,
    Removed,
    Modified,
    Renamed,
    TypeChanged,
}

impl ChangeStatus {
    /// The word for it, as serialised.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeStatus::Added => "added",
            ChangeStatus::Removed => "removed",
            ChangeStatus::Modified => "modified",
            ChangeStatus::Renamed => "renamed",
            ChangeStatus::TypeChanged => "type_changed",
        }
    }
}

/// One changed file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FileChange {
    /// New path ('/'-separated), or the old one for a removed file.
    pub path: String,
    /// The path before a rename.
    pub old_path: Option<String>,
    pub status: ChangeStatus,
    pub lines_added: usize,
    pub lines_removed: usize,
    pub binary: bool,
    /// Larger than `max_file_bytes` on either side: not counted, not diffed.
    pub too_large: bool,
    /// Rename similarity in percent.
    pub similarity: Option<u16>,
    /// A path was not valid UTF-8 and is shown lossily.
    pub non_utf8_path: bool,
}

/// Why a key file has no unified text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    Binary,
    TooLarge,
    /// A side's blob cannot be read from the mirror.
    Unreadable,
}

/// A blob the mirror lists but cannot read (a partial clone, a damaged
/// pack): the file is listed, never parsed or diffed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnreadableBlob {
    pub path: String,
    /// The blob's id.
    pub id: String,
    /// The commit whose tree names it.
    pub commit: String,
}

/// Unified diff of one key file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyFileDiff {
    pub path: String,
    pub old_path: Option<String>,
    /// `--- a/..`/`+++ b/..` unified text, context 3; empty when skipped.
    pub unified: String,
    /// The text was cut at `MAX_UNIFIED_BYTES`.
    pub truncated: bool,
    pub skipped: Option<SkipReason>,
}

/// Counts over all changed files. Type changes count as modified.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    pub added: usize,
    pub removed: usize,
    pub modified: usize,
    pub renamed: usize,
    pub lines_added: usize,
    pub lines_removed: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TreeDiff {
    pub files: Vec<FileChange>,
    pub key_diffs: Vec<KeyFileDiff>,
    pub totals: Totals,
    /// Blobs of changed files that cannot be read: those files have no line
    /// counts, key diff or parsed content.
    pub unreadable: Vec<UnreadableBlob>,
}

impl TreeDiff {
    /// Lists `u` once.
    pub fn add_unreadable(&mut self, u: UnreadableBlob) {
        if !self.unreadable.contains(&u) {
            self.unreadable.push(u);
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DiffError {
    #[error("cannot read the tree of commit {commit}: {source}")]
    Commit { commit: Oid, source: git2::Error },
    #[error("cannot diff commit {old} against {new}: {source}")]
    Diff {
        old: Oid,
        new: Oid,
        source: git2::Error,
    },
    #[error("cannot read {path} at commit {commit}: {source}")]
    Blob {
        commit: Oid,
        path: String,
        source: git2::Error,
    },
    #[error("cannot list the files of commit {commit}: {source}")]
    List { commit: Oid, source: git2::Error },
    #[error("cannot read {} (blob {}) at commit {}: {source}", blob.path, blob.id, blob.commit)]
    Unreadable {
        blob: Box<UnreadableBlob>,
        source: git2::Error,
    },
}

/// Diffs the trees of `old` and `new`.
pub fn diff_commits(
    repo: &Repository,
    old: Oid,
    new: Oid,
    opts: &DiffOptions,
) -> Result<TreeDiff, DiffError> {
    let err = |source| DiffError::Diff { old, new, source };
    let old_tree = commit_tree(repo, old)?;
    let new_tree = commit_tree(repo, new)?;
    let mut diff = repo
        .diff_tree_to_tree(Some(&old_tree), Some(&new_tree), None)
        .map_err(err)?;
    let mut find = DiffFindOptions::new();
    find.renames(true).rename_threshold(RENAME_THRESHOLD);
    if diff.find_similar(Some(&mut find)).is_err() {
        // rename detection reads blobs; with one unreadable, go without
        tracing::warn!(%old, %new, "rename detection failed (an unreadable blob?); renames are listed as removed and added");
        diff = repo
            .diff_tree_to_tree(Some(&old_tree), Some(&new_tree), None)
            .map_err(err)?;
    }
    let similarity = rename_similarity(&diff).unwrap_or_default();

    let mut out = TreeDiff {
        files: Vec::new(),
        key_diffs: Vec::new(),
        totals: Totals::default(),
        unreadable: Vec::new(),
    };
    for (idx, delta) in diff.deltas().enumerate() {
        let status = match delta.status() {
            Delta::Added | Delta::Copied => ChangeStatus::Added,
            Delta::Deleted => ChangeStatus::Removed,
            Delta::Modified => ChangeStatus::Modified,
            Delta::Renamed => ChangeStatus::Renamed,
            Delta::Typechange => ChangeStatus::TypeChanged,
            _ => continue,
        };
        let old_bytes = delta.old_file().path_bytes().unwrap_or_default();
        let new_bytes = delta.new_file().path_bytes().unwrap_or_default();
        let non_utf8_path =
            std::str::from_utf8(old_bytes).is_err() || std::str::from_utf8(new_bytes).is_err();
        let shown = if status == ChangeStatus::Removed {
            old_bytes
        } else {
            new_bytes
        };
        let path = String::from_utf8_lossy(shown).into_owned();
        let old_path = (status == ChangeStatus::Renamed)
            .then(|| String::from_utf8_lossy(old_bytes).into_owned());

        let sides = [(old, delta.old_file()), (new, delta.new_file())];
        let has_content = |f: &git2::DiffFile<'_>| f.exists() && f.mode() != FileMode::Commit;
        let mut too_large = false;
        let mut unreadable = false;
        for (commit, f) in sides.iter().filter(|(_, f)| has_content(f)) {
            match blob_size(repo, f.id()) {
                Ok(size) => too_large |= size > opts.max_file_bytes,
                Err(_) => {
                    unreadable = true;
                    let side_path = f
                        .path_bytes()
                        .map_or_else(|| path.clone(), |b| String::from_utf8_lossy(b).into_owned());
                    out.add_unreadable(UnreadableBlob {
                        path: side_path,
                        id: f.id().to_string(),
                        commit: commit.to_string(),
                    });
                }
            }
        }
        let content = sides.iter().any(|(_, f)| has_content(f));

        let (mut binary, mut lines_added, mut lines_removed) = (false, 0, 0);
        if content && !too_large && !unreadable {
            match git2::Patch::from_diff(&diff, idx).map_err(err)? {
                Some(patch) => {
                    binary = patch.delta().flags().is_binary();
                    if !binary {
                        let (_, adds, dels) = patch.line_stats().map_err(err)?;
                        (lines_added, lines_removed) = (adds, dels);
                    }
                }
                None => binary = delta.flags().is_binary(),
            }
        }

        let key_path = Path::new(&path);
        if opts.key_files.is_match(key_path) {
            let skipped = if unreadable {
                Some(SkipReason::Unreadable)
            } else if too_large {
                Some(SkipReason::TooLarge)
            } else if binary {
                Some(SkipReason::Binary)
            } else {
                None
            };
            let (unified, truncated) = match skipped {
                Some(_) => (String::new(), false),
                None => {
                    let read =
                        |(commit, f): &(Oid, git2::DiffFile<'_>)| -> Result<Vec<u8>, DiffError> {
                            if !has_content(f) {
                                return Ok(Vec::new());
                            }
                            let blob =
                                repo.find_blob(f.id()).map_err(|source| DiffError::Blob {
                                    commit: *commit,
                                    path: path.clone(),
                                    source,
                                })?;
                            Ok(blob.content().to_vec())
                        };
                    let before = read(&sides[0])?;
                    let after = read(&sides[1])?;
                    let a = old_path.as_deref().unwrap_or(&path);
                    unified_text(a, &path, &before, &after)
                }
            };
            out.key_diffs.push(KeyFileDiff {
                path: path.clone(),
                old_path: old_path.clone(),
                unified,
                truncated,
                skipped,
            });
        }

        let t = &mut out.totals;
        match status {
            ChangeStatus::Added => t.added += 1,
            ChangeStatus::Removed => t.removed += 1,
            ChangeStatus::Modified | ChangeStatus::TypeChanged => t.modified += 1,
            ChangeStatus::Renamed => t.renamed += 1,
        }
        t.lines_added += lines_added;
        t.lines_removed += lines_removed;
        let similarity = (status == ChangeStatus::Renamed)
            .then(|| {
                similarity
                    .get(&(old_bytes.to_vec(), new_bytes.to_vec()))
                    .copied()
            })
            .flatten();
        out.files.push(FileChange {
            path,
            old_path,
            status,
            lines_added,
            lines_removed,
            binary,
            too_large,
            similarity,
            non_utf8_path,
        });
    }
    Ok(out)
}

/// The content of `path` ('/'-separated) at `commit`; `None` when there is
/// no such file (or it is a folder or submodule); `DiffError::Unreadable`
/// when the tree names a blob the mirror cannot read.
pub fn read_blob(repo: &Repository, commit: Oid, path: &str) -> Result<Option<Vec<u8>>, DiffError> {
    let err = |source| DiffError::Blob {
        commit,
        path: path.to_string(),
        source,
    };
    let tree = commit_tree(repo, commit)?;
    let entry = match tree.get_path(Path::new(path)) {
        Ok(e) => e,
        Err(e) if e.code() == git2::ErrorCode::NotFound => return Ok(None),
        Err(e) => return Err(err(e)),
    };
    if entry.kind() != Some(ObjectType::Blob) {
        return Ok(None);
    }
    let blob = repo
        .find_blob(entry.id())
        .map_err(|source| DiffError::Unreadable {
            blob: Box::new(UnreadableBlob {
                path: path.to_owned(),
                id: entry.id().to_string(),
                commit: commit.to_string(),
            }),
            source,
        })?;
    Ok(Some(blob.content().to_vec()))
}

/// Every blob path of `commit`'s tree, '/'-separated, in tree order.
/// Non-UTF-8 names are shown lossily.
pub fn list_files(repo: &Repository, commit: Oid) -> Result<Vec<String>, DiffError> {
    let tree = commit_tree(repo, commit)?;
    let mut out = Vec::new();
    collect(repo, &tree, "", &mut out).map_err(|source| DiffError::List { commit, source })?;
    Ok(out)
}

fn collect(
    repo: &Repository,
    tree: &Tree<'_>,
    prefix: &str,
    out: &mut Vec<String>,
) -> Result<(), git2::Error> {
    for entry in tree.iter() {
        let name = format!("{prefix}{}", String::from_utf8_lossy(entry.name_bytes()));
        match entry.kind() {
            Some(ObjectType::Blob) => out.push(name),
            Some(ObjectType::Tree) => {
                let sub = repo.find_tree(entry.id())?;
                collect(repo, &sub, &format!("{name}/"), out)?;
            }
            _ => {}
        }
    }
    Ok(())
}

fn commit_tree(repo: &Repository, commit: Oid) -> Result<Tree<'_>, DiffError> {
    repo.find_commit(commit)
        .and_then(|c| c.tree())
        .map_err(|source| DiffError::Commit { commit, source })
}

fn blob_size(repo: &Repository, id: Oid) -> Result<u64, git2::Error> {
    let (size, _) = repo.odb()?.read_header(id)?;
    Ok(size as u64)
}

/// (old path, new path) bytes of a delta.
type PathPair = (Vec<u8>, Vec<u8>);

/// Rename similarity per (old path, new path), read from the patch headers
/// (git2 does not expose the delta's similarity field).
fn rename_similarity(diff: &git2::Diff<'_>) -> Result<HashMap<PathPair, u16>, git2::Error> {
    let mut map = HashMap::new();
    // only renamed files: printing the whole diff would load every file
    for (idx, delta) in diff.deltas().enumerate() {
        if delta.status() != Delta::Renamed {
            continue;
        }
        let Some(mut patch) = git2::Patch::from_diff(diff, idx)? else {
            continue;
        };
        let mut score = None;
        patch.print(&mut |_, _, line| {
            let text = String::from_utf8_lossy(line.content());
            score = score.or_else(|| {
                text.lines()
                    .find_map(|l| l.strip_prefix("similarity index "))
                    .and_then(|s| s.trim_end_matches('%').parse::<u16>().ok())
            });
            true
        })?;
        if let Some(score) = score {
            let old = delta.old_file().path_bytes().unwrap_or_default().to_vec();
            let new = delta.new_file().path_bytes().unwrap_or_default().to_vec();
            map.insert((old, new), score);
        }
    }
    Ok(map)
}

/// Unified text of two versions, cut at `MAX_UNIFIED_BYTES` on a line end.
fn unified_text(old_path: &str, new_path: &str, old: &[u8], new: &[u8]) -> (String, bool) {
    let old = String::from_utf8_lossy(old);
    let new = String::from_utf8_lossy(new);
    let text = TextDiff::from_lines(old.as_ref(), new.as_ref())
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{old_path}"), &format!("b/{new_path}"))
        .to_string();
    if text.len() <= MAX_UNIFIED_BYTES {
        return (text, false);
    }
    let mut cut = MAX_UNIFIED_BYTES;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let cut = text[..cut].rfind('\n').map_or(cut, |i| i + 1);
    (text[..cut].to_string(), true)
}

#[cfg(test)]
mod tests {
    use std::os::unix::ffi::OsStrExt;

    use git2::{IndexEntry, IndexTime, Signature, Time};
    use globset::{Glob, GlobSetBuilder};

    use super::*;

    /// Writes a commit whose tree holds exactly `files` (path bytes, content).
    fn commit(repo: &Repository, files: &[(&[u8], &[u8])], n: i64) -> Oid {
        let mut index = repo.index().unwrap();
        index.clear().unwrap();
        for (path, data) in files {
            let entry = IndexEntry {
                ctime: IndexTime::new(0, 0),
                mtime: IndexTime::new(0, 0),
                dev: 0,
                ino: 0,
                mode: 0o100644,
                uid: 0,
                gid: 0,
                file_size: data.len() as u32,
                id: Oid::ZERO_SHA1,
                flags: 0,
                flags_extended: 0,
                path: path.to_vec(),
            };
            index.add_frombuffer(&entry, data).unwrap();
        }
        let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
        let sig = Signature::new("t", "t@example.com", &Time::new(1_700_000_000 + n, 0)).unwrap();
        let parents: Vec<_> = repo
            .head()
            .ok()
            .map(|h| h.peel_to_commit().unwrap())
            .into_iter()
            .collect();
        let parents: Vec<_> = parents.iter().collect();
        repo.commit(Some("HEAD"), &sig, &sig, &format!("c{n}"), &tree, &parents)
            .unwrap()
    }

    fn opts(globs: &[&str], max: u64) -> DiffOptions {
        let mut b = GlobSetBuilder::new();
        for g in globs {
            b.add(Glob::new(g).unwrap());
        }
        DiffOptions {
            key_files: b.build().unwrap(),
            max_file_bytes: max,
        }
    }

    fn numbered(n: usize, tail: &str) -> Vec<u8> {
        let mut s: String = (0..n).map(|i| format!("stable line {i}\n")).collect();
        s.push_str(tail);
        s.into_bytes()
    }

    struct Fixture {
        _dir: tempfile::TempDir,
        repo: Repository,
        c1: Oid,
        c2: Oid,
    }

    fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init_bare(dir.path()).unwrap();
        let moved = numbered(20, "last\n");
        let moved_after = numbered(20, "changed last\n");
        let big = vec![b'x'; 4000];
        let non_utf8 = std::ffi::OsStr::from_bytes(b"caf\xe9.txt")
            .as_bytes()
            .to_vec();
        let c1 = commit(
            &repo,
            &[
                (b"a.py", b"line1\nold line\nline3\n"),
                (b"gone.txt", b"bye\n"),
                (b"old/moved.py", &moved),
                (b"big.txt", b"small\n"),
                (b"notes.md", b"one\n"),
            ],
            1,
        );
        let c2 = commit(
            &repo,
            &[
                (b"a.py", b"line1\nnew line\nline3\nline4\n"),
                (b"new/moved.py", &moved_after),
                (b"big.txt", &big),
                (b"notes.md", b"two\n"),
                (b"bin.dat", b"\x00\x01\x02binary\x00"),
                (&non_utf8, b"hello\n"),
            ],
            2,
        );
        let repo = Repository::open_bare(dir.path()).unwrap();
        Fixture {
            _dir: dir,
            repo,
            c1,
            c2,
        }
    }

    fn file<'a>(d: &'a TreeDiff, path: &str) -> &'a FileChange {
        d.files
            .iter()
            .find(|f| f.path == path)
            .unwrap_or_else(|| panic!("{path} not in {:#?}", d.files))
    }

    #[test]
    fn statuses_line_counts_and_flags() {
        let f = fixture();
        let d = diff_commits(&f.repo, f.c1, f.c2, &opts(&["*.py"], 1000)).unwrap();

        let a = file(&d, "a.py");
        assert_eq!(a.status, ChangeStatus::Modified);
        assert_eq!((a.lines_added, a.lines_removed), (2, 1));

        let gone = file(&d, "gone.txt");
        assert_eq!(gone.status, ChangeStatus::Removed);
        assert_eq!((gone.lines_added, gone.lines_removed), (0, 1));

        let moved = file(&d, "new/moved.py");
        assert_eq!(moved.status, ChangeStatus::Renamed);
        assert_eq!(moved.old_path.as_deref(), Some("old/moved.py"));
        assert_eq!((moved.lines_added, moved.lines_removed), (1, 1));
        let sim = moved.similarity.expect("rename has a similarity");
        assert!((50..100).contains(&sim), "similarity {sim}");

        let bin = file(&d, "bin.dat");
        assert_eq!(bin.status, ChangeStatus::Added);
        assert!(bin.binary);
        assert_eq!((bin.lines_added, bin.lines_removed), (0, 0));

        let big = file(&d, "big.txt");
        assert_eq!(big.status, ChangeStatus::Modified);
        assert!(big.too_large && !big.binary);
        assert_eq!((big.lines_added, big.lines_removed), (0, 0));

        let odd = file(&d, "caf\u{FFFD}.txt");
        assert!(odd.non_utf8_path);
        assert_eq!(odd.status, ChangeStatus::Added);
        assert_eq!(odd.lines_added, 1);
        assert!(!a.non_utf8_path);

        assert_eq!(d.files.len(), 7);
        assert_eq!(
            d.totals,
            Totals {
                added: 2,
                removed: 1,
                modified: 3,
                renamed: 1,
                lines_added: 2 + 1 + 1 + 1,
                lines_removed: 1 + 1 + 1 + 1,
            }
        );
    }

    #[test]
    fn key_diffs_only_for_key_files() {
        let f = fixture();
        let d = diff_commits(
            &f.repo,
            f.c1,
            f.c2,
            &opts(&["*.py", "*.dat", "big.txt"], 1000),
        )
        .unwrap();
        let paths: Vec<&str> = d.key_diffs.iter().map(|k| k.path.as_str()).collect();
        assert_eq!(paths, ["a.py", "big.txt", "bin.dat", "new/moved.py"]);

        let a = &d.key_diffs[0];
        assert!(
            a.unified.contains("--- a/a.py\n+++ b/a.py\n"),
            "{}",
            a.unified
        );
        assert!(a.unified.contains("\n-old line\n"), "{}", a.unified);
        assert!(a.unified.contains("\n+new line\n"), "{}", a.unified);
        assert!(!a.truncated && a.skipped.is_none());

        assert_eq!(d.key_diffs[1].skipped, Some(SkipReason::TooLarge));
        assert_eq!(d.key_diffs[2].skipped, Some(SkipReason::Binary));
        assert!(d.key_diffs[2].unified.is_empty());

        let moved = &d.key_diffs[3];
        assert_eq!(moved.old_path.as_deref(), Some("old/moved.py"));
        assert!(
            moved
                .unified
                .contains("--- a/old/moved.py\n+++ b/new/moved.py\n")
        );
        assert!(
            moved.unified.contains("\n-last\n+changed last\n"),
            "{}",
            moved.unified
        );
    }

    #[test]
    fn long_key_diff_is_truncated() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init_bare(dir.path()).unwrap();
        let c1 = commit(&repo, &[(b"a.py", b"")], 1);
        let body = numbered(20_000, "");
        let c2 = commit(&repo, &[(b"a.py", &body)], 2);
        let d = diff_commits(&repo, c1, c2, &opts(&["*.py"], 10_000_000)).unwrap();
        let k = &d.key_diffs[0];
        assert!(k.truncated);
        assert!(k.unified.len() <= MAX_UNIFIED_BYTES && k.unified.ends_with('\n'));
        assert_eq!(d.files[0].lines_added, 20_000);
    }

    #[test]
    fn read_blob_and_list_files() {
        let f = fixture();
        assert_eq!(
            read_blob(&f.repo, f.c1, "old/moved.py").unwrap().unwrap(),
            numbered(20, "last\n")
        );
        assert_eq!(read_blob(&f.repo, f.c2, "old/moved.py").unwrap(), None);
        assert_eq!(read_blob(&f.repo, f.c2, "new").unwrap(), None);
        assert_eq!(
            list_files(&f.repo, f.c2).unwrap(),
            [
                "a.py",
                "big.txt",
                "bin.dat",
                "caf\u{FFFD}.txt",
                "new/moved.py",
                "notes.md"
            ]
        );
        let missing = Oid::from_str("1234567890123456789012345678901234567890").unwrap();
        let err = list_files(&f.repo, missing).unwrap_err().to_string();
        assert!(
            err.contains("1234567890123456789012345678901234567890"),
            "{err}"
        );
    }
}
