//! Owns the current commit of a vendored copy: the record file read with
//! `record_pattern`, the base detected from the copy's files (`base =
//! "detect"`, the default) or taken from the record (`base = "record"`), and
//! the copy's local modifications against that base. Without a configured
//! `record_file`, the record is the wrapper's `git-subtree-split:` trailer
//! when its history has one (`super::subtree`). Only reads the wrapper.

use std::path::Path;

use git2::{Oid, Repository};

use super::base::{BaseDetection, Found, detect, full_score};
use super::commit::CommitInfo;
use super::copy::{CopyFiles, TreeFiles, local_mods};
use super::error::{UpstreamError, git_detail, git_err};
use super::layout::{CurrentCommit, display_dir, open_here, short};
use super::mirror::Mirror;
use super::subtree::subtree_base;
use super::track::resolve_target;
use crate::config::{BaseMode, ProjectConfig, UpstreamConfig, WrapperSource};

/// What the record file says.
enum Record {
    /// One commit the upstream has.
    Commit(Oid),
    /// Something is wrong with it.
    Problem(RecordProblem),
}

enum RecordProblem {
    Unreadable(String),
    NoMatch,
    Several(Vec<String>),
    Unknown { hash: String, detail: String },
}

pub(super) fn vendored(
    project: &ProjectConfig,
    up: &UpstreamConfig,
    mirror: &Mirror,
) -> Result<CurrentCommit, UpstreamError> {
    let full = project.root.join(&up.path);
    if !full.exists() {
        return Err(UpstreamError::MissingPath {
            upstream: up.name.clone(),
            path: full,
        });
    }
    let wrapper = open_here(&project.root).ok();
    if project.wrapper_source == WrapperSource::Committed && wrapper.is_none() {
        return Err(UpstreamError::NotARepo {
            upstream: up.name.clone(),
            path: project.root.clone(),
            layout: up.layout,
            hint: "wrapper_source = \"committed\" reads the wrapper's HEAD; use \"worktree\" \
                   for a wrapper that is not a repository"
                .into(),
        });
    }
    // no record_file configured: `git subtree` trailers, when the history has them
    let subtree = wrapper
        .as_ref()
        .filter(|_| !up.record_file_configured)
        .and_then(|w| subtree_base(w, &up.path));
    let record = match &subtree {
        Some(s) => resolve_recorded(mirror, &s.split),
        None => read_record(project, up, wrapper.as_ref(), mirror),
    };
    let place = match &subtree {
        Some(s) => format!(
            "the git-subtree-split trailer of wrapper commit {}",
            &s.wrapper_commit[..7]
        ),
        None => format!("{}", up.record_file.display()),
    };
    let record_source = || match &subtree {
        Some(_) => format!("recorded in {place}"),
        None => record_source(up),
    };
    let record_rel = up
        .record_file
        .strip_prefix(&up.path)
        .ok()
        .filter(|_| subtree.is_none())
        .map(|p| p.to_string_lossy().into_owned());
    let record_rel = record_rel.as_deref();
    let repo = mirror.repo();
    let name = up.name.as_str();
    let tree_files = |id: Oid| -> Result<TreeFiles, UpstreamError> {
        let tree = repo
            .find_commit(id)
            .and_then(|c| c.tree())
            .map_err(git_err(name, "reading the upstream tree"))?;
        TreeFiles::read(&tree, record_rel, name)
    };
    if up.base == BaseMode::Record {
        let id = match record {
            Record::Commit(id) => id,
            Record::Problem(p) => return Err(record_error(project, up, p)),
        };
        let tree = tree_files(id)?;
        let mut copy = CopyFiles::read(project, up, wrapper.as_ref(), &tree, record_rel)?;
        let mods = local_mods(&mut copy, &tree);
        return finish(up, mirror, id, record_source(), Vec::new(), mods, None);
    }

    let recorded = match &record {
        Record::Commit(id) => Some(*id),
        Record::Problem(_) => None,
    };
    let tip = resolve_target(mirror, &up.track)
        .ok()
        .or_else(|| repo.head().ok().and_then(|h| h.target()));
    let reference = match recorded.or(tip) {
        Some(id) => tree_files(id)?,
        None => TreeFiles::default(),
    };
    let mut copy = CopyFiles::read(project, up, wrapper.as_ref(), &reference, record_rel)?;
    let started = std::time::Instant::now();
    // a copy identical to the recorded commit needs no search
    let exact = recorded
        .map(|id| (id, full_score(&mut copy, &reference)))
        .filter(|(_, s)| s.is_exact());
    let found = match exact {
        Some((id, score)) => Some(Found {
            id,
            score,
            scanned: 1,
        }),
        None => detect(repo, &mut copy, tip, recorded, record_rel, name)?,
    };
    tracing::debug!(
        upstream = name,
        files = copy.len(),
        hashed = copy.hashed,
        scanned = found.as_ref().map_or(0, |f| f.scanned),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "base detection"
    );
    let found = match found {
        Some(f) if f.score.same > 0 => f,
        // nothing in common with any commit: detection says nothing
        _ => match record {
            Record::Commit(id) => {
                let tree = tree_files(id)?;
                let mods = local_mods(&mut copy, &tree);
                return finish(up, mirror, id, record_source(), Vec::new(), mods, None);
            }
            Record::Problem(p) => return Err(record_error(project, up, p)),
        },
    };
    let tree = tree_files(found.id)?;
    // the running score of the walk must be the full comparison's
    debug_assert_eq!(full_score(&mut copy, &tree), found.score);
    let s = found.score;
    let mut detection = BaseDetection {
        recorded: recorded.map(|r| r.to_string()),
        detected: found.id.to_string(),
        same: s.same as usize,
        modified: s.modified as usize,
        local_only: s.local_only as usize,
        deleted: s.deleted as usize,
        candidates_scanned: found.scanned,
        message: None,
    };
    let matches = format!(
        "the copy matches {}: {} same, {} modified, {} local-only, {} deleted",
        short(found.id),
        detection.same,
        detection.modified,
        detection.local_only,
        detection.deleted
    );
    let file = &place;
    let mut warnings = Vec::new();
    let source = match &record {
        Record::Commit(id) if *id == found.id => record_source(),
        Record::Commit(id) => {
            warnings.push(format!("record says {} ({file}); {matches}", short(*id)));
            format!(
                "detected from the copy's files (record in {file} says {})",
                short(*id)
            )
        }
        Record::Problem(p) => {
            warnings.push(format!("{}; {matches}", problem_text(up, p)));
            "detected from the copy's files".to_owned()
        }
    };
    detection.message = warnings.first().cloned();
    let mods = local_mods(&mut copy, &tree);
    finish(
        up,
        mirror,
        found.id,
        source,
        warnings,
        mods,
        Some(detection),
    )
}

fn record_source(up: &UpstreamConfig) -> String {
    format!("recorded in {}", up.record_file.display())
}

fn finish(
    up: &UpstreamConfig,
    mirror: &Mirror,
    id: Oid,
    source: String,
    mut warnings: Vec<String>,
    mods: super::layout::LocalMods,
    base: Option<BaseDetection>,
) -> Result<CurrentCommit, UpstreamError> {
    let commit = mirror
        .repo()
        .find_commit(id)
        .map_err(git_err(&up.name, "reading the base commit"))?;
    if !mods.is_empty() {
        warnings.push(format!(
            "vendored copy {} differs from upstream {}: {} modified, {} added, {} deleted",
            display_dir(&up.path),
            short(id),
            mods.modified,
            mods.added,
            mods.deleted
        ));
    }
    Ok(CurrentCommit {
        id: id.to_string(),
        source,
        commit: Some(CommitInfo::from_commit(&commit)),
        gitlink: None,
        checkout: None,
        notes: Vec::new(),
        warnings,
        local_modifications: Some(mods),
        base,
    })
}

/// A recorded hash resolved in the mirror.
fn resolve_recorded(mirror: &Mirror, hash: &str) -> Record {
    match mirror
        .repo()
        .revparse_single(hash)
        .and_then(|o| o.peel_to_commit())
    {
        Ok(c) => Record::Commit(c.id()),
        Err(e) => Record::Problem(RecordProblem::Unknown {
            hash: hash.to_owned(),
            detail: git_detail(&e),
        }),
    }
}

fn read_record(
    project: &ProjectConfig,
    up: &UpstreamConfig,
    wrapper: Option<&Repository>,
    mirror: &Mirror,
) -> Record {
    let text = match wrapper.filter(|_| project.wrapper_source == WrapperSource::Committed) {
        Some(repo) => read_committed(repo, &up.record_file).map_err(|e| git_detail(&e)),
        None => {
            fs_err::read_to_string(project.root.join(&up.record_file)).map_err(|e| e.to_string())
        }
    };
    let text = match text {
        Ok(t) => t,
        Err(detail) => return Record::Problem(RecordProblem::Unreadable(detail)),
    };
    let mut hashes: Vec<String> = Vec::new();
    for caps in up.record_pattern.captures_iter(&text) {
        if let Some(m) = caps.get(1) {
            let h = m.as_str().to_ascii_lowercase();
            if !hashes.contains(&h) {
                hashes.push(h);
            }
        }
    }
    let resolve = |h: &str| {
        mirror
            .repo()
            .revparse_single(h)
            .and_then(|o| o.peel_to_commit())
            .map(|c| c.id())
    };
    let Some(first) = hashes.first() else {
        return Record::Problem(RecordProblem::NoMatch);
    };
    if up.base == BaseMode::Record || hashes.len() == 1 {
        return match resolve(first) {
            Ok(id) => Record::Commit(id),
            Err(e) => Record::Problem(RecordProblem::Unknown {
                hash: first.clone(),
                detail: git_detail(&e),
            }),
        };
    }
    let ids: Vec<Option<Oid>> = hashes.iter().map(|h| resolve(h).ok()).collect();
    match ids.first() {
        Some(Some(id)) if ids.iter().all(|i| *i == Some(*id)) => Record::Commit(*id),
        _ => Record::Problem(RecordProblem::Several(hashes)),
    }
}

fn problem_text(up: &UpstreamConfig, p: &RecordProblem) -> String {
    let file = up.record_file.display();
    match p {
        RecordProblem::Unreadable(detail) => format!("cannot read record file `{file}` ({detail})"),
        RecordProblem::NoMatch => format!(
            "no line of `{file}` matches record_pattern `{}`",
            up.record_pattern.as_str()
        ),
        RecordProblem::Several(hashes) => format!(
            "record file `{file}` names several commits ({})",
            crate::text::cut_list(hashes, 4)
        ),
        RecordProblem::Unknown { hash, .. } => {
            format!("commit `{hash}` recorded in `{file}` is not in the upstream's history")
        }
    }
}

/// The error `base = "record"` gives for a bad record.
fn record_error(project: &ProjectConfig, up: &UpstreamConfig, p: RecordProblem) -> UpstreamError {
    let path = project.root.join(&up.record_file);
    let upstream = up.name.clone();
    match p {
        RecordProblem::Unreadable(detail) => UpstreamError::RecordFile {
            upstream,
            path,
            detail,
        },
        RecordProblem::NoMatch => UpstreamError::NoRecord {
            upstream,
            path,
            pattern: up.record_pattern.as_str().to_owned(),
        },
        RecordProblem::Several(hashes) => UpstreamError::AmbiguousRecord {
            upstream,
            path,
            hashes: crate::text::cut_list(&hashes, 4),
        },
        RecordProblem::Unknown { hash, detail } => UpstreamError::UnknownRecorded {
            upstream,
            hash,
            path,
            detail,
        },
    }
}

pub(super) fn read_committed(repo: &Repository, rel: &Path) -> Result<String, git2::Error> {
    let tree = repo.head()?.peel_to_tree()?;
    let blob = tree.get_path(rel)?.to_object(repo)?.peel_to_blob()?;
    Ok(String::from_utf8_lossy(blob.content()).into_owned())
}
