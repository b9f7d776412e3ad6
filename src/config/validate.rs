//! Turns a [`RawConfig`] into a [`Config`]: applies defaults, resolves paths
//! against the config file's folder, and collects every problem (with its
//! dotted key) before failing.

use std::path::{Path, PathBuf};
use std::time::Duration;

use globset::{Glob, GlobSet, GlobSetBuilder};
use regex::Regex;

use super::model::*;
use super::raw::*;

/// Protected packages: an update that changes one of these is flagged.
pub const DEFAULT_PROTECTED: &[&str] = &[
    "torch",
    "torchvision",
    "torchaudio",
    "triton",
    "xformers",
    "flash-attn",
    "sageattention",
    "numpy",
    "nvidia-*",
    "cuda-*",
];

pub const DEFAULT_RECORD_FILE: &str = "STRUCTURE.md";
pub const DEFAULT_RECORD_PATTERN: &str = r"(?i)upstream[ _-]commit\W*([0-9a-f]{7,40})\b";
pub const DEFAULT_KEY_FILES: &[&str] = &["*.py", "defaults/*.json", "requirements*.txt"];
pub const DEFAULT_SCAN: &[&str] = &["**/*.py"];
pub const DEFAULT_EXCLUDE: &[&str] = &[
    ".git/**",
    ".tether/**",
    ".venv/**",
    "venv/**",
    "**/__pycache__/**",
    "**/site-packages/**",
];
pub const DEFAULT_CONFIG_DIRS: &[&str] = &["defaults"];
pub const DEFAULT_MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;
pub const DEFAULT_RENAME_SIMILARITY: f64 = 0.6;

/// One thing wrong with a config, named by its dotted key.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub key: String,
    pub message: String,
}

pub fn validate(raw: RawConfig, base: &Path) -> Result<Config, Vec<Problem>> {
    let mut v = Validator::default();
    let project = v.project(raw.project, base);
    let mut upstreams = Vec::new();
    if raw.upstream.is_empty() {
        v.problem("upstream", "at least one [[upstream]] table is required");
    }
    for (i, u) in raw.upstream.into_iter().enumerate() {
        if let Some(u) = v.upstream(i, u) {
            upstreams.push(u);
        }
    }
    for (i, a) in upstreams.iter().enumerate() {
        for b in &upstreams[..i] {
            if a.name == b.name {
                v.problem(
                    &format!("upstream[{i}].name"),
                    &format!("duplicate upstream name `{}`", a.name),
                );
            }
            if a.path == b.path {
                v.problem(
                    &format!("upstream[{i}].path"),
                    &format!(
                        "path `{}` is already used by upstream `{}`",
                        a.path.display(),
                        b.name
                    ),
                );
            }
        }
    }
    let integration = v.integration(raw.integration);
    let analysis = v.analysis(raw.analysis);
    if !v.problems.is_empty() {
        return Err(v.problems);
    }
    Ok(Config {
        source: None,
        project: project.expect("no problems means project is valid"),
        upstreams,
        integration: integration.expect("valid"),
        analysis: analysis.expect("valid"),
    })
}

#[derive(Default)]
struct Validator {
    problems: Vec<Problem>,
}

impl Validator {
    fn problem(&mut self, key: &str, message: &str) {
        self.problems.push(Problem {
            key: key.to_owned(),
            message: message.to_owned(),
        });
    }

    fn non_empty(&mut self, key: &str, value: Option<String>) -> Option<String> {
        match value {
            Some(s) if s.trim().is_empty() => {
                self.problem(key, "must not be empty");
                None
            }
            other => other,
        }
    }

    fn project(&mut self, raw: RawProject, base: &Path) -> Option<ProjectConfig> {
        let root = resolve(
            base,
            &self
                .non_empty("project.root", raw.root)
                .unwrap_or_else(|| ".".into()),
        );
        let state_dir = resolve(
            base,
            &self
                .non_empty("project.state_dir", raw.state_dir)
                .unwrap_or_else(|| ".tether".into()),
        );
        let analysis_dir = resolve(
            base,
            &self
                .non_empty("project.analysis_dir", raw.analysis_dir)
                .unwrap_or_else(|| "maintenance_analysis".into()),
        );
        let outputs_dir = resolve(
            base,
            &self
                .non_empty("project.outputs_dir", raw.outputs_dir)
                .unwrap_or_else(|| "outputs".into()),
        );
        let python = self
            .non_empty("project.python", raw.python)
            .unwrap_or_else(|| "python3".into());
        let wrapper_source = match raw.wrapper_source.as_deref() {
            None | Some("worktree") => WrapperSource::Worktree,
            Some("committed") => WrapperSource::Committed,
            Some(other) => {
                self.problem(
                    "project.wrapper_source",
                    &format!("expected `worktree` or `committed`, got `{other}`"),
                );
                WrapperSource::Worktree
            }
        };
        let name = self.non_empty("project.name", raw.name).unwrap_or_else(|| {
            root.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "wrapper".into())
        });
        Some(ProjectConfig {
            name,
            root,
            python,
            state_dir,
            analysis_dir,
            outputs_dir,
            wrapper_source,
        })
    }

    fn upstream(&mut self, i: usize, raw: RawUpstream) -> Option<UpstreamConfig> {
        let k = |f: &str| format!("upstream[{i}].{f}");
        let before = self.problems.len();
        let name = self.non_empty(&k("name"), raw.name);
        if name.is_none() && !self.problems.iter().any(|p| p.key == k("name")) {
            self.problem(&k("name"), "missing: every upstream needs a name");
        }
        if let Some(n) = &name {
            if !n
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            {
                self.problem(
                    &k("name"),
                    &format!(
                        "`{n}` may only hold letters, digits, `-`, `_` and `.` (it names folders)"
                    ),
                );
            }
        }
        let url = self.non_empty(&k("url"), raw.url);
        if url.is_none() && !self.problems.iter().any(|p| p.key == k("url")) {
            self.problem(&k("url"), "missing: where to fetch the upstream from");
        }
        let path = self.non_empty(&k("path"), raw.path);
        let path = match path {
            None => {
                if !self.problems.iter().any(|p| p.key == k("path")) {
                    self.problem(
                        &k("path"),
                        "missing: the upstream's folder inside the wrapper",
                    );
                }
                None
            }
            Some(p) => {
                let pb = PathBuf::from(&p);
                if pb.is_absolute()
                    || pb
                        .components()
                        .any(|c| matches!(c, std::path::Component::ParentDir))
                {
                    self.problem(
                        &k("path"),
                        &format!("`{p}` must be relative to the wrapper root and stay inside it"),
                    );
                }
                Some(pb)
            }
        };
        let layout = match raw.layout.as_deref() {
            Some("submodule") => Some(Layout::Submodule),
            Some("clone") => Some(Layout::Clone),
            Some("vendored") => Some(Layout::Vendored),
            Some(other) => {
                self.problem(
                    &k("layout"),
                    &format!("expected `submodule`, `clone` or `vendored`, got `{other}`"),
                );
                None
            }
            None => {
                self.problem(
                    &k("layout"),
                    "missing: one of `submodule`, `clone`, `vendored`",
                );
                None
            }
        };
        let track = match raw.track.as_deref() {
            None => Some(Track::Branch("main".into())),
            Some(t) => match parse_track(t) {
                Ok(t) => Some(t),
                Err(m) => {
                    self.problem(&k("track"), &m);
                    None
                }
            },
        };
        let soak = match raw.soak.as_deref() {
            None => Some(Duration::ZERO),
            Some("0") => Some(Duration::ZERO),
            Some(s) => match humantime::parse_duration(s) {
                Ok(d) => Some(d),
                Err(e) => {
                    self.problem(
                        &k("soak"),
                        &format!("`{s}` is not a duration like `12h` or `2d` ({e})"),
                    );
                    None
                }
            },
        };
        let key_files = raw
            .key_files
            .unwrap_or_else(|| DEFAULT_KEY_FILES.iter().map(|s| s.to_string()).collect());
        let key_files_set = self.globs(&k("key_files"), &key_files);
        let record_file = PathBuf::from(
            raw.record_file
                .unwrap_or_else(|| DEFAULT_RECORD_FILE.into()),
        );
        let pattern = raw
            .record_pattern
            .unwrap_or_else(|| DEFAULT_RECORD_PATTERN.into());
        let record_pattern = match Regex::new(&pattern) {
            Ok(r) if r.captures_len() >= 2 => Some(r),
            Ok(_) => {
                self.problem(
                    &k("record_pattern"),
                    "needs one capture group for the commit hash",
                );
                None
            }
            Err(e) => {
                self.problem(&k("record_pattern"), &format!("not a valid regex: {e}"));
                None
            }
        };
        if self.problems.len() > before {
            return None;
        }
        Some(UpstreamConfig {
            name: name?,
            url: url?,
            path: path?,
            layout: layout?,
            track: track?,
            soak: soak?,
            key_files,
            key_files_set: key_files_set?,
            record_file,
            record_pattern: record_pattern?,
        })
    }

    fn integration(&mut self, raw: RawIntegration) -> Option<IntegrationConfig> {
        let scan = raw
            .scan
            .unwrap_or_else(|| DEFAULT_SCAN.iter().map(|s| s.to_string()).collect());
        if scan.is_empty() {
            self.problem("integration.scan", "must list at least one glob");
        }
        let exclude = raw
            .exclude
            .unwrap_or_else(|| DEFAULT_EXCLUDE.iter().map(|s| s.to_string()).collect());
        let scan_set = self.globs("integration.scan", &scan);
        let exclude_set = self.globs("integration.exclude", &exclude);
        let api_modules = raw.api_modules.unwrap_or_default();
        for (j, m) in api_modules.iter().enumerate() {
            if m.is_empty()
                || !m
                    .split('.')
                    .all(|p| !p.is_empty() && p.chars().all(|c| c.is_alphanumeric() || c == '_'))
            {
                self.problem(
                    &format!("integration.api_modules[{j}]"),
                    &format!("`{m}` is not a dotted Python module name"),
                );
            }
        }
        let config_dirs = raw
            .config_dirs
            .unwrap_or_else(|| DEFAULT_CONFIG_DIRS.iter().map(|s| s.to_string()).collect());
        Some(IntegrationConfig {
            scan,
            scan_set: scan_set?,
            exclude,
            exclude_set: exclude_set?,
            api_modules,
            config_dirs,
        })
    }

    fn analysis(&mut self, raw: RawAnalysis) -> Option<AnalysisConfig> {
        let protected_packages = raw
            .protected_packages
            .unwrap_or_else(|| DEFAULT_PROTECTED.iter().map(|s| s.to_string()).collect());
        let normalized: Vec<String> = protected_packages
            .iter()
            .map(|p| normalize_package(p))
            .collect();
        let protected_set = self.globs("analysis.protected_packages", &normalized);
        let max_file_bytes = match raw.max_file_bytes {
            None => DEFAULT_MAX_FILE_BYTES,
            Some(n) if n > 0 => n as u64,
            Some(n) => {
                self.problem(
                    "analysis.max_file_bytes",
                    &format!("must be positive, got {n}"),
                );
                DEFAULT_MAX_FILE_BYTES
            }
        };
        let rename_similarity = match raw.rename_similarity {
            None => DEFAULT_RENAME_SIMILARITY,
            Some(x) if (0.0..=1.0).contains(&x) => x,
            Some(x) => {
                self.problem(
                    "analysis.rename_similarity",
                    &format!("must be between 0 and 1, got {x}"),
                );
                DEFAULT_RENAME_SIMILARITY
            }
        };
        Some(AnalysisConfig {
            protected_packages,
            protected_set: protected_set?,
            max_file_bytes,
            rename_similarity,
        })
    }

    fn globs(&mut self, key: &str, globs: &[String]) -> Option<GlobSet> {
        let mut b = GlobSetBuilder::new();
        let mut ok = true;
        for (j, g) in globs.iter().enumerate() {
            match Glob::new(g) {
                Ok(g) => {
                    b.add(g);
                }
                Err(e) => {
                    ok = false;
                    self.problem(&format!("{key}[{j}]"), &format!("bad glob `{g}`: {e}"));
                }
            }
        }
        if !ok {
            return None;
        }
        match b.build() {
            Ok(s) => Some(s),
            Err(e) => {
                self.problem(key, &format!("bad globs: {e}"));
                None
            }
        }
    }
}

/// Parses `branch:<name>`, `tag:<glob>` or `pinned:<sha>`.
pub fn parse_track(s: &str) -> Result<Track, String> {
    let bad = || format!("expected `branch:<name>`, `tag:<glob>` or `pinned:<sha>`, got `{s}`");
    let (kind, value) = s.split_once(':').ok_or_else(bad)?;
    if value.is_empty() {
        return Err(bad());
    }
    match kind {
        "branch" => Ok(Track::Branch(value.to_owned())),
        "tag" => {
            Glob::new(value).map_err(|e| format!("bad tag glob `{value}`: {e}"))?;
            Ok(Track::Tag(value.to_owned()))
        }
        "pinned" => {
            if value.len() < 7 || value.len() > 40 || !value.chars().all(|c| c.is_ascii_hexdigit())
            {
                return Err(format!(
                    "`pinned:` needs a commit hash of 7 to 40 hex digits, got `{value}`"
                ));
            }
            Ok(Track::Pinned(value.to_ascii_lowercase()))
        }
        _ => Err(bad()),
    }
}

fn resolve(base: &Path, p: &str) -> PathBuf {
    let path = Path::new(p);
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    };
    normalize_path(&joined)
}

/// Removes `.` and folds `..` without touching the filesystem.
pub fn normalize_path(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}
