//! The fix strategy families, one file each, behind one trait. A strategy
//! reads a classified failure, changes files in the staged wrapper tree and
//! says which; it never commits and never touches the live wrapper.

mod api_drift;
mod external;
mod json_edit;
mod missing_inputs;
mod model_config;
mod oom;
mod python_deps;
mod workflow;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use api_drift::ApiDrift;
pub use external::{External, context_markdown};
pub use missing_inputs::MissingInputs;
pub use model_config::{ConfigCandidate, ModelConfig, closest_config};
pub use oom::{Oom, Reduction, next_length, next_reduction, next_resolution};
pub use python_deps::{PythonDeps, constraints, parse_freeze};
pub use workflow::WorkflowInputs;

use super::classify::Failure;
use super::error::FixError;
use crate::analysis::Analysis;
use crate::config::{Config, StrategyKind};

/// What a strategy may read and where it may write.
#[derive(Debug, Clone, Copy)]
pub struct FixContext<'a> {
    pub cfg: &'a Config,
    /// The staged wrapper's root.
    pub tree: &'a Path,
    /// The staged upstream's root (inside `tree`).
    pub upstream_dir: &'a Path,
    pub analysis: Option<&'a Analysis>,
    /// 1-based number of this attempt.
    pub attempt: u32,
    /// A folder for this attempt's own files (context, logs, constraints).
    pub context_dir: &'a Path,
}

/// A change a strategy made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedFix {
    /// The strategy family that made it.
    pub strategy: StrategyKind,
    /// One line saying what changed.
    pub summary: String,
    /// Changed files, relative to the tree, `/`-separated. Empty when the fix
    /// changed the environment only (installed packages).
    pub files: Vec<String>,
    /// `fix(baseline): ...`.
    pub commit_message: String,
    /// What was given up to make the case pass, e.g.
    /// `vace_short: video_length 81 -> 65`.
    pub reduced: Option<String>,
}

/// One family of repairs.
pub trait Strategy {
    fn kind(&self) -> StrategyKind;
    /// Whether this family can address this kind of failure at all.
    fn applies(&self, f: &Failure) -> bool;
    /// Makes the change. `Ok(None)` or [`FixError::NotApplicable`]: nothing
    /// to do (not an attempt); another error: the attempt failed.
    fn apply(&self, ctx: &FixContext<'_>, f: &Failure) -> Result<Option<AppliedFix>, FixError>;
}

/// The strategies `[update] strategies` lists, in its order; `external` only
/// when `fix.external_command` is set.
pub fn strategies_for(cfg: &Config) -> Vec<Box<dyn Strategy>> {
    cfg.update
        .strategies
        .iter()
        .filter_map(|k| -> Option<Box<dyn Strategy>> {
            Some(match k {
                StrategyKind::MissingInputs => Box::new(MissingInputs),
                StrategyKind::ModelConfig => Box::new(ModelConfig),
                StrategyKind::Oom => Box::new(Oom),
                StrategyKind::PythonDeps => Box::new(PythonDeps),
                StrategyKind::ApiDrift => Box::new(ApiDrift),
                StrategyKind::WorkflowInputs => Box::new(WorkflowInputs),
                StrategyKind::External => {
                    cfg.fix.external_command.as_ref()?;
                    Box::new(External)
                }
            })
        })
        .collect()
}

/// `path` relative to `root`, `/`-separated.
pub(crate) fn rel(root: &Path, path: &Path) -> String {
    let p = path.strip_prefix(root).unwrap_or(path);
    p.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// Every `.py` file of the wrapper tree, outside the upstream dir, `.git`,
/// virtual environments and caches; sorted.
pub(crate) fn wrapper_python_files(tree: &Path, upstream_dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![tree.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = fs_err::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let path = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            let Ok(ft) = e.file_type() else { continue };
            if ft.is_dir() {
                let skip = path == upstream_dir
                    || matches!(
                        name.as_str(),
                        ".git" | "__pycache__" | "node_modules" | "site-packages"
                    )
                    || path.join("pyvenv.cfg").exists();
                if !skip {
                    stack.push(path);
                }
            } else if ft.is_file() && name.ends_with(".py") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The effective value of a case parameter: what the failed run used.
pub(crate) fn param<'a>(f: &'a Failure, key: &str) -> Option<&'a serde_json::Value> {
    f.params.get(key)
}

/// The case's `WIDTHxHEIGHT` and frame count, from its params (defaults
/// 832x480, 17 frames).
pub(crate) fn case_geometry(cfg: &Config, f: &Failure) -> (u32, u32, u32) {
    let (w, h) = param(f, &cfg.fix.resolution_param)
        .and_then(|v| v.as_str())
        .and_then(crate::config::parse_resolution)
        .unwrap_or((832, 480));
    let frames = param(f, &cfg.fix.length_param)
        .and_then(value_u32)
        .filter(|n| *n > 0)
        .unwrap_or(17);
    (w, h, frames)
}

/// A JSON number or numeric string as `u32`.
pub(crate) fn value_u32(v: &serde_json::Value) -> Option<u32> {
    match v {
        serde_json::Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Writes a file inside the tree, creating its folder.
pub(crate) fn write_file(path: &Path, bytes: &[u8]) -> Result<(), FixError> {
    if let Some(dir) = path.parent() {
        fs_err::create_dir_all(dir).map_err(FixError::io("create folder", dir))?;
    }
    fs_err::write(path, bytes).map_err(FixError::io("write", path))
}

#[cfg(test)]
mod tests;
