//! Owns resolving an upstream's `track` rule to its target commit in the
//! mirror: a branch tip, the highest tag matching a glob (version order), or
//! a pinned commit.

use std::cmp::Ordering;

use serde::Serialize;

use super::error::UpstreamError;
use super::mirror::Mirror;
use crate::config::Track;

/// How many existing names an error lists.
const LIST_MAX: usize = 8;

/// The commit a track rule points at, and the ref it came through.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Target {
    #[serde(skip)]
    pub id: git2::Oid,
    /// e.g. `refs/heads/main`, `refs/tags/v1.10`, or the pinned hash.
    pub reference: String,
}

/// The commit `track` points at in the mirror.
pub fn resolve_target(mirror: &Mirror, track: &Track) -> Result<git2::Oid, UpstreamError> {
    resolve_target_ref(mirror, track).map(|t| t.id)
}

/// Resolves `track` in the mirror, with the ref it came through.
pub fn resolve_target_ref(mirror: &Mirror, track: &Track) -> Result<Target, UpstreamError> {
    let repo = mirror.repo();
    let fail = |message: String| UpstreamError::Target {
        upstream: mirror.name().to_owned(),
        message,
    };
    match track {
        Track::Branch(name) => {
            let reference = format!("refs/heads/{name}");
            let id = repo
                .find_reference(&reference)
                .and_then(|r| r.peel_to_commit())
                .map(|c| c.id())
                .map_err(|_| {
                    fail(format!(
                        "tracked branch `{name}` does not exist upstream (branches: {})",
                        list_refs(repo, "refs/heads/")
                    ))
                })?;
            Ok(Target { id, reference })
        }
        Track::Tag(glob) => {
            let matcher = globset::GlobBuilder::new(glob)
                .literal_separator(false)
                .build()
                .map_err(|e| fail(format!("tag glob `{glob}` is invalid: {e}")))?
                .compile_matcher();
            let mut best: Option<(VersionKey, i64, String, git2::Oid)> = None;
            for name in repo
                .tag_names(None)
                .map_err(|e| fail(format!("cannot list tags: {}", e.message())))?
                .iter()
                .filter_map(|n| n.ok().flatten())
            {
                if !matcher.is_match(name) {
                    continue;
                }
                let Ok(commit) = repo
                    .find_reference(&format!("refs/tags/{name}"))
                    .and_then(|r| r.peel_to_commit())
                else {
                    continue; // a tag of a tree or blob
                };
                let cand = (
                    VersionKey::parse(name),
                    commit.time().seconds(),
                    name.to_owned(),
                    commit.id(),
                );
                let better = match &best {
                    None => true,
                    Some(b) => {
                        (&cand.0, cand.1, &cand.2).cmp(&(&b.0, b.1, &b.2)) == Ordering::Greater
                    }
                };
                if better {
                    best = Some(cand);
                }
            }
            let (_, _, name, id) = best.ok_or_else(|| {
                fail(format!(
                    "no tag matches `{glob}` (tags: {})",
                    list_refs(repo, "refs/tags/")
                ))
            })?;
            Ok(Target {
                id,
                reference: format!("refs/tags/{name}"),
            })
        }
        Track::Pinned(sha) => {
            let id = repo
                .revparse_single(sha)
                .and_then(|o| o.peel_to_commit())
                .map(|c| c.id())
                .map_err(|e| {
                    fail(format!(
                        "pinned commit `{sha}` is not in the upstream's branches or tags ({})",
                        e.message()
                    ))
                })?;
            Ok(Target {
                id,
                reference: id.to_string(),
            })
        }
    }
}

/// The first few short names under `prefix`, newest name order, for errors.
fn list_refs(repo: &git2::Repository, prefix: &str) -> String {
    let mut names: Vec<String> = repo
        .references_glob(&format!("{prefix}*"))
        .map(|refs| {
            refs.flatten()
                .filter_map(|r| {
                    r.name()
                        .ok()
                        .map(|n| n.trim_start_matches(prefix).to_owned())
                })
                .collect()
        })
        .unwrap_or_default();
    if names.is_empty() {
        return "none".into();
    }
    names.sort_by(|a, b| {
        VersionKey::parse(b)
            .cmp(&VersionKey::parse(a))
            .then(a.cmp(b))
    });
    let more = names.len().saturating_sub(LIST_MAX);
    names.truncate(LIST_MAX);
    let mut out = names.join(", ");
    if more > 0 {
        out.push_str(&format!(", and {more} more"));
    }
    out
}

/// Version order of a tag name: the numeric core (`1.10.2` in `v1.10.2`)
/// compared number by number, a release above its pre-releases (`-rc1`,
/// `beta`), then the rest compared naturally.
#[derive(Debug, Clone, PartialEq, Eq)]
struct VersionKey {
    core: Vec<u64>,
    release: bool,
    rest: Vec<Chunk>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Chunk {
    Text(String),
    Num(u64),
}

impl VersionKey {
    fn parse(name: &str) -> Self {
        let start = name
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(name.len());
        let mut core = Vec::new();
        let mut rest = &name[start..];
        loop {
            let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
            if digits == 0 {
                break;
            }
            core.push(rest[..digits].parse().unwrap_or(u64::MAX));
            rest = &rest[digits..];
            match rest.strip_prefix('.') {
                Some(r) if r.starts_with(|c: char| c.is_ascii_digit()) => rest = r,
                _ => break,
            }
        }
        let release = !rest.chars().any(|c| c.is_ascii_alphabetic());
        Self {
            core,
            release,
            rest: chunks(rest),
        }
    }
}

impl Ord for VersionKey {
    fn cmp(&self, other: &Self) -> Ordering {
        self.core
            .cmp(&other.core)
            .then(self.release.cmp(&other.release))
            .then(self.rest.cmp(&other.rest))
    }
}

impl PartialOrd for VersionKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

fn chunks(s: &str) -> Vec<Chunk> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(c) = rest.chars().next() {
        let is_digit = c.is_ascii_digit();
        let len = rest
            .find(|ch: char| ch.is_ascii_digit() != is_digit)
            .unwrap_or(rest.len());
        let part = &rest[..len];
        out.push(if is_digit {
            Chunk::Num(part.parse().unwrap_or(u64::MAX))
        } else {
            Chunk::Text(part.to_owned())
        });
        rest = &rest[len..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::VersionKey;

    fn sorted(names: &[&str]) -> Vec<String> {
        let mut v: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        v.sort_by_key(|n| VersionKey::parse(n));
        v
    }

    #[test]
    fn numeric_parts_compare_as_numbers() {
        assert_eq!(
            sorted(&["v1.10", "v1.9", "v1.2.3", "v2.0", "v1.10.1"]),
            ["v1.2.3", "v1.9", "v1.10", "v1.10.1", "v2.0"]
        );
    }

    #[test]
    fn release_beats_its_prereleases() {
        assert_eq!(
            sorted(&["v2.0", "v2.0-rc10", "v2.0-rc2", "v2.0-beta", "v1.9"]),
            ["v1.9", "v2.0-beta", "v2.0-rc2", "v2.0-rc10", "v2.0"]
        );
    }

    #[test]
    fn names_without_numbers_sort_lowest() {
        assert_eq!(sorted(&["v1", "latest"]), ["latest", "v1"]);
    }
}
