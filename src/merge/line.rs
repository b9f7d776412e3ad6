//! libgit2's line merge of three texts, and where its conflict markers are.

use super::{ConflictHunk, Labels};

/// The outcome of one line merge: the merged text (with markers when it
/// did not merge) and whether it merged cleanly.
pub(super) struct LineMerge {
    pub(super) content: Vec<u8>,
    pub(super) clean: bool,
}

/// Merges `ours` and `theirs` line by line from `base` with libgit2 (what
/// `git merge-file` does). An error of libgit2's (it only fails on memory)
/// is a conflict that keeps `ours`.
pub(super) fn merge_lines(
    base: &[u8],
    ours: &[u8],
    theirs: &[u8],
    labels: &Labels<'_>,
) -> LineMerge {
    let mut a = git2::MergeFileInput::new();
    a.content(base);
    let mut o = git2::MergeFileInput::new();
    o.content(ours);
    let mut t = git2::MergeFileInput::new();
    t.content(theirs);
    let mut opts = git2::MergeFileOptions::new();
    opts.our_label(labels.ours)
        .their_label(labels.theirs)
        .ancestor_label(labels.base);
    match git2::merge_file(&a, &o, &t, Some(&mut opts)) {
        Ok(res) => LineMerge {
            content: res.content().to_vec(),
            clean: res.is_automergeable(),
        },
        Err(e) => {
            tracing::warn!("libgit2's line merge failed: {}", e.message());
            LineMerge {
                content: ours.to_vec(),
                clean: false,
            }
        }
    }
}

/// The regions between `<<<<<<<` and `>>>>>>>` lines in `content`.
pub fn conflict_hunks(content: &[u8]) -> Vec<ConflictHunk> {
    let mut hunks = Vec::new();
    let mut open = None;
    for (i, line) in content.split(|b| *b == b'\n').enumerate() {
        if line.starts_with(b"<<<<<<<") && open.is_none() {
            open = Some(i + 1);
        } else if line.starts_with(b">>>>>>>")
            && let Some(start) = open.take()
        {
            hunks.push(ConflictHunk { start, end: i + 1 });
        }
    }
    hunks
}

/// Whether the bytes look binary (a NUL in the first 8000 bytes, as git
/// decides).
pub(super) fn is_binary(bytes: &[u8]) -> bool {
    bytes.iter().take(8000).any(|b| *b == 0)
}
