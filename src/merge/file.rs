//! `merge_file`: the rules for one file. One side's change wins where the
//! other did not touch the file; a file the wrapper deleted stays deleted; a
//! file the upstream deleted but the wrapper changed is a conflict (taking
//! the deletion would lose the patch silently, keeping the file would bring
//! back what the upstream removed: a person decides); otherwise libgit2's
//! line merge, and where it conflicts the definition-level merge for `.py`
//! and the key-wise merge for `.json`.

use super::line::{conflict_hunks, is_binary, merge_lines};
use super::{ConflictReason, FileMerge, Labels, Method, Sides, json, python};

/// Merges one file's three versions. `path` (relative, `/`-separated)
/// chooses the method by its extension.
pub fn merge_file(path: &str, sides: &Sides<'_>, labels: &Labels<'_>) -> FileMerge {
    let Sides { base, ours, theirs } = *sides;
    if ours == theirs || base == theirs {
        return clean(ours, Method::OneSide, None);
    }
    if base == ours {
        return clean(theirs, Method::OneSide, None);
    }
    let (o, t) = match (ours, theirs) {
        (Some(o), Some(t)) => (o, t),
        (None, _) => {
            return clean(
                None,
                Method::KeptDeletion,
                Some(
                    "deleted by the wrapper and changed by the upstream: it stays deleted (the upstream's change is not taken)"
                        .into(),
                ),
            );
        }
        (Some(o), None) => {
            return FileMerge::Conflict {
                content: o.to_vec(),
                hunks: Vec::new(),
                reason: ConflictReason::DeletedUpstream,
                note: Some(
                    "the wrapper's version is left in the staged tree: delete it or keep it".into(),
                ),
            };
        }
    };
    let b = base.unwrap_or_default();
    let reason = if base.is_some() {
        ConflictReason::BothChanged
    } else {
        ConflictReason::BothAdded
    };
    if is_binary(b) || is_binary(o) || is_binary(t) {
        return FileMerge::Conflict {
            content: o.to_vec(),
            hunks: Vec::new(),
            reason: ConflictReason::Binary,
            note: Some("the wrapper's version is left in the staged tree".into()),
        };
    }
    let line = merge_lines(b, o, t, labels);
    if line.clean {
        return clean(Some(&line.content), Method::Line, None);
    }
    let line_conflict = |note: Option<String>| FileMerge::Conflict {
        hunks: conflict_hunks(&line.content),
        content: line.content.clone(),
        reason,
        note,
    };
    match Kind::of(path) {
        Kind::Python => match python::merge(b, o, t, labels) {
            python::Outcome::Clean(content) => clean(Some(&content), Method::Definitions, None),
            python::Outcome::Conflict(content) => FileMerge::Conflict {
                hunks: conflict_hunks(&content),
                content,
                reason,
                note: Some("merged by definitions; the markers are around the definitions both sides changed in the same place".into()),
            },
            python::Outcome::Fallback(note) => line_conflict(Some(note)),
        },
        Kind::Json => match json::merge(b, o, t) {
            json::Outcome::Clean { content, note } => clean(Some(&content), Method::JsonKeys, note),
            json::Outcome::Conflict(keys) => line_conflict(Some(format!(
                "both sides changed {} differently: merged line by line",
                crate::text::cut_list(&keys, crate::text::MESSAGE_ITEMS)
            ))),
            json::Outcome::NotJson(note) => line_conflict(Some(note)),
        },
        Kind::Other => line_conflict(None),
    }
}

fn clean(content: Option<&[u8]>, method: Method, note: Option<String>) -> FileMerge {
    FileMerge::Clean {
        content: content.map(<[u8]>::to_vec),
        method,
        note,
    }
}

/// Which structured merge a path gets.
enum Kind {
    Python,
    Json,
    Other,
}

impl Kind {
    fn of(path: &str) -> Kind {
        let name = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
        if name.ends_with(".py") || name.ends_with(".pyi") {
            Kind::Python
        } else if name.ends_with(".json") {
            Kind::Json
        } else {
            Kind::Other
        }
    }
}
