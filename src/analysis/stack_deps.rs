//! Dependencies across the members of a group (a ComfyUI core and its node
//! packs): each member's requirements read from tether's mirror at its
//! target (`requirements.txt` at the root and `pyproject.toml`'s
//! `[project] dependencies`) and its current commit, then the packages whose
//! specifiers cannot all hold together and the members whose torch
//! requirement moved or differs from another's. Reading is here; the
//! verdict is the pure [`stack_dependencies`]; the Markdown is in
//! `report::stack_deps`.

use std::collections::BTreeMap;
use std::str::FromStr;

use git2::{Oid, Repository};
use pep440_rs::{Operator, Version, VersionSpecifiers};
use serde::Serialize;

use super::diff::{DiffError, read_blob};
use super::requirements::{Requirement, parse_requirements};
use crate::config::AnalysisConfig;

/// One member's requirements at its current and its target commit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MemberDeps {
    pub member: String,
    /// At the current commit (`None` when unknown: a new member).
    pub from: Option<Vec<Requirement>>,
    /// At the target commit.
    pub to: Vec<Requirement>,
    /// Files that could not be read as requirements, with why.
    pub notes: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum StackDepsError {
    #[error("cannot read the requirements of `{member}`: {source}")]
    Read {
        member: String,
        #[source]
        source: DiffError,
    },
}

/// Reads `member`'s requirements from its mirror `repo` at `from` (when
/// known) and `to`.
pub fn read_member_deps(
    repo: &Repository,
    member: &str,
    from: Option<Oid>,
    to: Oid,
) -> Result<MemberDeps, StackDepsError> {
    let mut notes = Vec::new();
    let mut at = |commit: Oid| requirements_at(repo, commit, &mut notes);
    let from = from.map(&mut at).transpose();
    let to = at(to);
    let err = |source| StackDepsError::Read {
        member: member.to_owned(),
        source,
    };
    Ok(MemberDeps {
        member: member.to_owned(),
        from: from.map_err(err)?,
        to: to.map_err(err)?,
        notes,
    })
}

/// `requirements.txt` and `pyproject.toml`'s `[project] dependencies` at
/// `commit`, in that order.
fn requirements_at(
    repo: &Repository,
    commit: Oid,
    notes: &mut Vec<String>,
) -> Result<Vec<Requirement>, DiffError> {
    let short = &commit.to_string()[..7];
    let mut out = Vec::new();
    if let Some(bytes) = read_blob(repo, commit, "requirements.txt")? {
        let parsed = parse_requirements(&String::from_utf8_lossy(&bytes));
        for line in parsed.unparsed {
            notes.push(format!("requirements.txt at {short}: unreadable {line}"));
        }
        out.extend(parsed.requirements);
    }
    if let Some(bytes) = read_blob(repo, commit, "pyproject.toml")? {
        match pyproject_dependencies(&String::from_utf8_lossy(&bytes)) {
            Ok(deps) => {
                let parsed = parse_requirements(&deps.join("\n"));
                for line in parsed.unparsed {
                    notes.push(format!("pyproject.toml at {short}: unreadable {line}"));
                }
                out.extend(parsed.requirements);
            }
            Err(why) => notes.push(format!("pyproject.toml at {short}: {why}")),
        }
    }
    Ok(out)
}

/// The strings of `[project] dependencies` (none when the table or key is
/// absent).
fn pyproject_dependencies(text: &str) -> Result<Vec<String>, String> {
    let doc: toml::Table = text.parse().map_err(|e| format!("not TOML: {e}"))?;
    let Some(deps) = doc.get("project").and_then(|p| p.get("dependencies")) else {
        return Ok(Vec::new());
    };
    let deps = deps
        .as_array()
        .ok_or("`project.dependencies` is not an array")?;
    deps.iter()
        .map(|d| {
            d.as_str()
                .map(str::to_owned)
                .ok_or_else(|| format!("`project.dependencies` holds a non-string: {d}"))
        })
        .collect()
}

/// What the members' requirements say together.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StackDependencies {
    /// Packages whose specifiers cannot all hold, by name.
    pub conflicts: Vec<PackageConflict>,
    /// Members whose torch requirement changed, or differs from another
    /// member's.
    pub torch: Vec<TorchChange>,
    /// Requirements not compared (URLs, markers, unreadable specifiers) and
    /// files not read, per member.
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PackageConflict {
    /// PEP 503 normalised name.
    pub package: String,
    /// Every member's specifier for it at its target, in member order.
    pub pins: Vec<MemberPin>,
    /// Matches `analysis.protected_packages`.
    pub protected: bool,
    pub why: ConflictReason,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemberPin {
    pub member: String,
    /// As written, e.g. `==2.5.1` or `>=2.4,<2.6`.
    pub spec: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConflictReason {
    /// Two members pin different exact versions.
    DifferentPins,
    /// One member's exact pin is outside another's range.
    PinOutsideRange,
    /// The ranges have no version in common.
    DisjointRanges,
}

impl ConflictReason {
    /// For people.
    pub fn describe(self) -> &'static str {
        match self {
            ConflictReason::DifferentPins => "different exact versions",
            ConflictReason::PinOutsideRange => "an exact pin outside another member's range",
            ConflictReason::DisjointRanges => "ranges with no version in common",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TorchChange {
    pub member: String,
    /// The torch specifier at the current commit (`None`: not required;
    /// `Some("")`: any version).
    pub from_spec: Option<String>,
    pub to_spec: Option<String>,
    /// Members whose torch specifier at their target differs from this one's.
    pub differs_from: Vec<String>,
}

/// The packages whose specifiers across `members` (at their targets) cannot
/// all hold, and the torch changes. Requirements with an environment marker
/// or a URL are not compared (noted).
pub fn stack_dependencies(members: &[MemberDeps], cfg: &AnalysisConfig) -> StackDependencies {
    let mut out = StackDependencies::default();
    for m in members {
        out.notes
            .extend(m.notes.iter().map(|n| format!("{}: {n}", m.member)));
    }
    // package -> member -> specifiers joined with `,`.
    let mut specs: BTreeMap<&str, Vec<(&str, String)>> = BTreeMap::new();
    for m in members {
        for r in &m.to {
            if r.url.is_some() || r.marker.is_some() {
                out.notes.push(format!(
                    "{}: `{}` not compared (URL or environment marker)",
                    m.member, r.line
                ));
                continue;
            }
            let list = specs.entry(r.name.as_str()).or_default();
            match list.iter_mut().find(|(who, _)| *who == m.member) {
                Some((_, s)) if !r.specifier.is_empty() => {
                    if !s.is_empty() {
                        s.push(',');
                    }
                    s.push_str(&r.specifier);
                }
                Some(_) => {}
                None => list.push((m.member.as_str(), r.specifier.clone())),
            }
        }
    }
    for (package, pins) in &specs {
        if pins.len() < 2 {
            continue;
        }
        match conflict(pins) {
            Ok(Some(why)) => out.conflicts.push(PackageConflict {
                package: (*package).to_owned(),
                pins: pins
                    .iter()
                    .map(|(member, spec)| MemberPin {
                        member: (*member).to_owned(),
                        spec: spec.clone(),
                    })
                    .collect(),
                protected: cfg.is_protected(package),
                why,
            }),
            Ok(None) => {}
            Err(note) => out.notes.push(format!("{package}: {note}")),
        }
    }
    out.torch = torch_changes(members);
    out
}

/// Why `pins` cannot all hold, if they cannot. `Err`: a specifier that does
/// not read as PEP 440.
fn conflict(pins: &[(&str, String)]) -> Result<Option<ConflictReason>, String> {
    let mut parsed = Vec::new();
    for (member, spec) in pins {
        let s = VersionSpecifiers::from_str(spec)
            .map_err(|e| format!("`{spec}` of {member} is not a PEP 440 specifier: {e}"))?;
        parsed.push(s);
    }
    let exact: Vec<&Version> = parsed
        .iter()
        .filter_map(|s| match s.iter().collect::<Vec<_>>().as_slice() {
            [one] if matches!(one.operator(), Operator::Equal | Operator::ExactEqual) => {
                Some(one.version())
            }
            _ => None,
        })
        .collect();
    if exact.windows(2).any(|w| w[0] != w[1]) {
        return Ok(Some(ConflictReason::DifferentPins));
    }
    if satisfiable(&parsed) {
        return Ok(None);
    }
    Ok(Some(if exact.is_empty() {
        ConflictReason::DisjointRanges
    } else {
        ConflictReason::PinOutsideRange
    }))
}

/// Whether some version satisfies every specifier set: tried at every bound
/// and just above and below it (every interval the sets allow has one of
/// those in it).
fn satisfiable(sets: &[VersionSpecifiers]) -> bool {
    let mut candidates = Vec::new();
    for s in sets {
        for spec in s.iter() {
            let v = spec.version();
            candidates.push(v.clone());
            let mut above = v.release().to_vec();
            above.extend([0, 0, 1]);
            candidates.push(Version::new(above).with_epoch(v.epoch()));
            if let Some(below) = just_below(v.release()) {
                candidates.push(Version::new(below).with_epoch(v.epoch()));
            }
        }
    }
    if candidates.is_empty() {
        return true;
    }
    candidates
        .iter()
        .any(|c| sets.iter().all(|s| s.contains(c)))
}

/// A release just below `release`: its last non-zero part decremented,
/// then a large part appended (`2.5` -> `2.4.999999`, `3.0` -> `2.999999`).
fn just_below(release: &[u64]) -> Option<Vec<u64>> {
    let i = release.iter().rposition(|&n| n > 0)?;
    let mut out = release[..=i].to_vec();
    out[i] -= 1;
    out.push(999_999);
    Some(out)
}

/// The torch specifier `reqs` require (joined), `None` when not required.
fn torch_spec(reqs: &[Requirement]) -> Option<String> {
    let specs: Vec<&str> = reqs
        .iter()
        .filter(|r| r.name == "torch")
        .map(|r| r.specifier.as_str())
        .collect();
    if specs.is_empty() {
        return None;
    }
    Some(
        specs
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(","),
    )
}

fn torch_changes(members: &[MemberDeps]) -> Vec<TorchChange> {
    let targets: Vec<(&str, Option<String>)> = members
        .iter()
        .map(|m| (m.member.as_str(), torch_spec(&m.to)))
        .collect();
    let mut out = Vec::new();
    for m in members {
        let from_spec = m.from.as_deref().and_then(torch_spec);
        let to_spec = torch_spec(&m.to);
        let differs_from: Vec<String> = match &to_spec {
            Some(mine) if !mine.is_empty() => targets
                .iter()
                .filter(|(who, other)| {
                    *who != m.member
                        && other
                            .as_ref()
                            .is_some_and(|o| !o.is_empty() && squash(o) != squash(mine))
                })
                .map(|(who, _)| (*who).to_owned())
                .collect(),
            _ => Vec::new(),
        };
        let changed = m.from.is_some() && from_spec != to_spec;
        if changed || !differs_from.is_empty() {
            out.push(TorchChange {
                member: m.member.clone(),
                from_spec,
                to_spec,
                differs_from,
            });
        }
    }
    out
}

/// A specifier without whitespace, for comparing texts.
fn squash(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

#[cfg(test)]
#[path = "stack_deps_tests.rs"]
mod tests;
