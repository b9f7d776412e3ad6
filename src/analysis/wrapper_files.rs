//! Reads the wrapper's own source files for scanning: from the working tree
//! or from the wrapper's HEAD commit, filtered by `[integration]` globs, with
//! every upstream folder left out. Reads only; never writes to the wrapper.

use std::path::{Path, PathBuf};

use globset::GlobSet;

use crate::config::{Config, WrapperSource};

use super::python::SourceFile;

#[derive(Debug, thiserror::Error)]
pub enum WrapperFilesError {
    #[error("cannot read the wrapper at `{}`", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read the wrapper's committed files at `{}`", path.display())]
    Git {
        path: PathBuf,
        #[source]
        source: git2::Error,
    },
}

/// The wrapper files that were read, and notes about what was skipped.
#[derive(Debug, Default)]
pub struct WrapperFiles {
    pub files: Vec<SourceFile>,
    pub notes: Vec<String>,
}

pub fn read(cfg: &Config) -> Result<WrapperFiles, WrapperFilesError> {
    let mut out = read_matching(cfg, &cfg.integration.scan_set)?;
    if let Some(note) = dirty_note(&cfg.project.root) {
        out.notes.push(note);
    }
    Ok(out)
}

/// The wrapper files matching `set` (and not `integration.exclude`), from
/// the source `project.wrapper_source` names.
pub fn read_matching(cfg: &Config, set: &GlobSet) -> Result<WrapperFiles, WrapperFilesError> {
    let root = &cfg.project.root;
    let mut out = WrapperFiles::default();
    match cfg.project.wrapper_source {
        WrapperSource::Worktree => walk(cfg, set, root, Path::new(""), &mut out)?,
        WrapperSource::Committed => committed(cfg, set, &mut out)?,
    }
    out.files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

fn wanted(cfg: &Config, set: &GlobSet, rel: &str) -> bool {
    let i = &cfg.integration;
    set.is_match(rel)
        && !i.exclude_set.is_match(rel)
        && !cfg.upstreams.iter().any(|u| {
            let p = u.path.to_string_lossy();
            rel == p || rel.starts_with(&format!("{p}/"))
        })
}

fn skipped_dir(cfg: &Config, rel: &str) -> bool {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    name == ".git"
        || cfg
            .upstreams
            .iter()
            .any(|u| rel == u.path.to_string_lossy())
        || cfg.integration.exclude_set.is_match(format!("{rel}/x"))
}

fn walk(
    cfg: &Config,
    set: &GlobSet,
    root: &Path,
    rel: &Path,
    out: &mut WrapperFiles,
) -> Result<(), WrapperFilesError> {
    let dir = root.join(rel);
    let io = |source| WrapperFilesError::Io {
        path: dir.clone(),
        source,
    };
    let mut entries: Vec<_> = fs_err::read_dir(&dir)
        .map_err(io)?
        .filter_map(Result::ok)
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            out.notes.push(format!(
                "skipped wrapper path with a non-UTF-8 name: {}",
                rel.join(entry.file_name()).to_string_lossy()
            ));
            continue;
        };
        let child = rel.join(name);
        let child_str = child.to_string_lossy().replace('\\', "/");
        let Ok(ft) = entry.file_type() else { continue };
        if ft.is_symlink() {
            continue;
        }
        if ft.is_dir() {
            if !skipped_dir(cfg, &child_str) {
                walk(cfg, set, root, &child, out)?;
            }
        } else if ft.is_file() && wanted(cfg, set, &child_str) {
            // an oversized file is listed without being read
            if entry
                .metadata()
                .is_ok_and(|m| m.len() > cfg.analysis.max_file_bytes)
            {
                too_large(out, &child_str);
                continue;
            }
            push(
                cfg,
                out,
                child_str,
                fs_err::read(root.join(&child)).map_err(io)?,
            );
        }
    }
    Ok(())
}

fn committed(cfg: &Config, set: &GlobSet, out: &mut WrapperFiles) -> Result<(), WrapperFilesError> {
    let root = &cfg.project.root;
    let git = |source| WrapperFilesError::Git {
        path: root.clone(),
        source,
    };
    let repo = git2::Repository::open(root).map_err(git)?;
    let tree = repo.head().and_then(|h| h.peel_to_tree()).map_err(git)?;
    let mut found = Vec::new();
    tree.walk(git2::TreeWalkMode::PreOrder, |dir, entry| {
        if entry.kind() != Some(git2::ObjectType::Blob) {
            return git2::TreeWalkResult::Ok;
        }
        let path = format!("{dir}{}", String::from_utf8_lossy(entry.name_bytes()));
        if wanted(cfg, set, &path) {
            found.push((path, entry.id()));
        }
        git2::TreeWalkResult::Ok
    })
    .map_err(git)?;
    let odb = repo.odb().map_err(git)?;
    for (path, id) in found {
        // an oversized blob is listed without being read
        if odb
            .read_header(id)
            .is_ok_and(|(size, _)| size as u64 > cfg.analysis.max_file_bytes)
        {
            too_large(out, &path);
            continue;
        }
        let Ok(blob) = repo.find_blob(id) else {
            out.notes.push(format!(
                "wrapper file `{path}` (blob {}) cannot be read from the wrapper's repository; not scanned",
                &id.to_string()[..7]
            ));
            continue;
        };
        push(cfg, out, path, blob.content().to_vec());
    }
    Ok(())
}

fn too_large(out: &mut WrapperFiles, path: &str) {
    out.notes.push(format!(
        "wrapper file `{path}` is larger than analysis.max_file_bytes; not scanned"
    ));
}

fn push(cfg: &Config, out: &mut WrapperFiles, path: String, bytes: Vec<u8>) {
    if bytes.len() as u64 > cfg.analysis.max_file_bytes {
        too_large(out, &path);
        return;
    }
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            out.notes.push(format!(
                "wrapper file `{path}` is not valid UTF-8; scanned with replacement characters"
            ));
            String::from_utf8_lossy(e.as_bytes()).into_owned()
        }
    };
    out.files.push(SourceFile { path, text });
}

/// A note when the wrapper has uncommitted changes.
fn dirty_note(root: &Path) -> Option<String> {
    let repo = git2::Repository::open(root).ok()?;
    let mut opts = git2::StatusOptions::new();
    opts.include_untracked(true).exclude_submodules(true);
    let statuses = repo.statuses(Some(&mut opts)).ok()?;
    let n = statuses
        .iter()
        .filter(|s| !s.status().is_ignored() && s.status() != git2::Status::CURRENT)
        .count();
    (n > 0).then(|| format!("the wrapper has uncommitted changes ({n} path(s))"))
}
