//! The validated configuration: every default applied, every path absolute,
//! every value checked. The rest of tether only ever sees these types.

use std::path::PathBuf;
use std::time::Duration;

use globset::GlobSet;
use regex::Regex;

/// A complete, valid configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The config file this came from (absolute), or `None` when built in code.
    pub source: Option<PathBuf>,
    pub project: ProjectConfig,
    pub upstreams: Vec<UpstreamConfig>,
    pub integration: IntegrationConfig,
    pub analysis: AnalysisConfig,
}

impl Config {
    /// The upstream named `name`, or every upstream when `name` is `None`.
    pub fn select_upstreams(&self, name: Option<&str>) -> Option<Vec<&UpstreamConfig>> {
        match name {
            None => Some(self.upstreams.iter().collect()),
            Some(n) => self.upstreams.iter().find(|u| u.name == n).map(|u| vec![u]),
        }
    }
}

#[derive(Debug, Clone)]
pub struct ProjectConfig {
    pub name: String,
    /// The wrapper project's root (absolute).
    pub root: PathBuf,
    /// The interpreter the wrapper runs with.
    pub python: String,
    /// Where tether keeps mirrors, journals and first-seen times (absolute).
    pub state_dir: PathBuf,
    /// Where `tether analyze` writes its reports (absolute).
    pub analysis_dir: PathBuf,
    /// Where run outputs go (absolute).
    pub outputs_dir: PathBuf,
    /// Which state of the wrapper is read: the working tree or HEAD.
    pub wrapper_source: WrapperSource,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WrapperSource {
    /// Files as they are on disk, uncommitted edits included.
    Worktree,
    /// Files as committed at the wrapper's HEAD.
    Committed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// A git submodule of the wrapper.
    Submodule,
    /// A plain git clone inside the wrapper (not a submodule).
    Clone,
    /// A copy of the upstream's files committed in the wrapper, with the
    /// upstream commit recorded in a file.
    Vendored,
}

impl std::fmt::Display for Layout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Layout::Submodule => "submodule",
            Layout::Clone => "clone",
            Layout::Vendored => "vendored",
        })
    }
}

/// Which upstream commit is the target of an update.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "lowercase")]
pub enum Track {
    /// The tip of a branch.
    Branch(String),
    /// The highest tag (in version order) matching a glob.
    Tag(String),
    /// One fixed commit.
    Pinned(String),
}

impl std::fmt::Display for Track {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Track::Branch(b) => write!(f, "branch:{b}"),
            Track::Tag(t) => write!(f, "tag:{t}"),
            Track::Pinned(p) => write!(f, "pinned:{p}"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct UpstreamConfig {
    pub name: String,
    /// Where the upstream is fetched from. May hold credentials: render it
    /// through [`crate::redact`] only.
    pub url: String,
    /// Path of the upstream inside the wrapper, relative to the wrapper root.
    pub path: PathBuf,
    pub layout: Layout,
    pub track: Track,
    /// Minimum age of a commit before it is adopted.
    pub soak: Duration,
    /// Globs (relative to the upstream root) of files whose diffs matter most.
    pub key_files: Vec<String>,
    pub key_files_set: GlobSet,
    /// Vendored layout: the file, relative to the wrapper root, that records
    /// which upstream commit the copy came from.
    pub record_file: PathBuf,
    /// Vendored layout: a regex whose first capture group is the commit hash.
    pub record_pattern: Regex,
}

#[derive(Debug, Clone)]
pub struct IntegrationConfig {
    /// Globs (relative to the wrapper root) of wrapper files to scan.
    pub scan: Vec<String>,
    pub scan_set: GlobSet,
    /// Globs of wrapper files never scanned. Upstream paths are always excluded.
    pub exclude: Vec<String>,
    pub exclude_set: GlobSet,
    /// Upstream modules that count as its API; empty means every top-level
    /// module and package of the upstream tree.
    pub api_modules: Vec<String>,
    /// Upstream folders of JSON model configs the wrapper refers to by name.
    pub config_dirs: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct AnalysisConfig {
    /// Package name globs whose version changes are flagged as protected.
    pub protected_packages: Vec<String>,
    pub protected_set: GlobSet,
    /// Files larger than this are listed but not diffed or parsed.
    pub max_file_bytes: u64,
    /// Minimum similarity (0..1) for a definition to count as renamed.
    pub rename_similarity: f64,
}

impl AnalysisConfig {
    /// Whether a (normalised) package name is protected.
    pub fn is_protected(&self, package: &str) -> bool {
        self.protected_set.is_match(normalize_package(package))
    }
}

/// PEP 503 normalisation: lowercase, runs of `-`, `_`, `.` become `-`.
pub fn normalize_package(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut last_dash = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !last_dash {
                out.push('-');
            }
            last_dash = true;
        } else {
            out.push(c.to_ascii_lowercase());
            last_dash = false;
        }
    }
    out
}
