//! `[project]`: the wrapper's folders, resolved against the config's folder.

use std::path::Path;

use super::resolve;
use crate::config::defaults;
use crate::config::model::{ProjectConfig, WrapperSource};
use crate::config::raw::RawProject;
use crate::config::value::NonEmpty;

pub(super) fn project(raw: RawProject, base: &Path) -> ProjectConfig {
    let dir = |v: Option<NonEmpty>, default: &str| {
        resolve(base, &v.map_or_else(|| default.to_owned(), |v| v.0))
    };
    let root = dir(raw.root, defaults::ROOT);
    let name = raw.name.map(|n| n.0).unwrap_or_else(|| {
        root.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| defaults::PROJECT_NAME.into())
    });
    ProjectConfig {
        name,
        python: raw.python.map_or_else(|| defaults::PYTHON.into(), |p| p.0),
        state_dir: dir(raw.state_dir, defaults::STATE_DIR),
        analysis_dir: dir(raw.analysis_dir, defaults::ANALYSIS_DIR),
        outputs_dir: dir(raw.outputs_dir, defaults::OUTPUTS_DIR),
        wrapper_source: raw.wrapper_source.unwrap_or(WrapperSource::Worktree),
        root,
    }
}
