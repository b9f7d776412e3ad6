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
pub const DEFAULT_CREDENTIAL_TIMEOUT: Duration = Duration::from_secs(30);
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
pub const DEFAULT_MAX_FINDINGS_PER_KIND: u32 = 500;
pub const DEFAULT_MAX_FINDINGS_PER_FILE: u32 = 100;
pub const DEFAULT_MAX_REPORT_BYTES: u64 = 16 * 1024 * 1024;
/// The smallest report cap: room for the headings and the note.
pub const MIN_REPORT_BYTES: i64 = 4096;

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
    let baseline = v.baseline(raw.baseline, base);
    let update = v.update(raw.update);
    let fix = v.fix(raw.fix, base);
    let gpu = v.gpu(raw.gpu, base);
    let schedule = v.schedule(raw.schedule);
    let service = v.service(raw.service);
    if !v.problems.is_empty() {
        return Err(v.problems);
    }
    Ok(Config {
        source: None,
        project: project.expect("no problems means project is valid"),
        upstreams,
        integration: integration.expect("valid"),
        analysis: analysis.expect("valid"),
        baseline,
        update,
        fix,
        gpu,
        schedule,
        service,
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
        let credential_timeout = match raw.credential_timeout.as_deref() {
            None => Some(DEFAULT_CREDENTIAL_TIMEOUT),
            Some(s) => match humantime::parse_duration(s) {
                Ok(d) if !d.is_zero() => Some(d),
                Ok(_) => {
                    self.problem(&k("credential_timeout"), "must be longer than 0");
                    None
                }
                Err(e) => {
                    self.problem(
                        &k("credential_timeout"),
                        &format!("`{s}` is not a duration like `30s` or `2m` ({e})"),
                    );
                    None
                }
            },
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
            credential_timeout: credential_timeout?,
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
        let max_findings_per_kind = self.count(
            "analysis.max_findings_per_kind",
            raw.max_findings_per_kind,
            DEFAULT_MAX_FINDINGS_PER_KIND,
            0,
        );
        let max_findings_per_file = self.count(
            "analysis.max_findings_per_file",
            raw.max_findings_per_file,
            DEFAULT_MAX_FINDINGS_PER_FILE,
            0,
        );
        let max_report_bytes = match raw.max_report_bytes {
            None => DEFAULT_MAX_REPORT_BYTES,
            Some(n) if n >= MIN_REPORT_BYTES => n as u64,
            Some(n) => {
                self.problem(
                    "analysis.max_report_bytes",
                    &format!("must be at least {MIN_REPORT_BYTES}, got {n}"),
                );
                DEFAULT_MAX_REPORT_BYTES
            }
        };
        Some(AnalysisConfig {
            protected_packages,
            protected_set: protected_set?,
            max_file_bytes,
            rename_similarity,
            max_findings_per_kind,
            max_findings_per_file,
            max_report_bytes,
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

impl Validator {
    fn duration(&mut self, key: &str, value: Option<&str>, default: Duration) -> Duration {
        match value {
            None => default,
            Some(s) => match humantime::parse_duration(s) {
                Ok(d) if !d.is_zero() => d,
                Ok(_) => {
                    self.problem(key, "must be longer than zero");
                    default
                }
                Err(e) => {
                    self.problem(
                        key,
                        &format!("`{s}` is not a duration like `30s` or `20m` ({e})"),
                    );
                    default
                }
            },
        }
    }

    fn count(&mut self, key: &str, value: Option<i64>, default: u32, min: i64) -> u32 {
        match value {
            None => default,
            Some(n) if n >= min && n <= i64::from(u32::MAX) => n as u32,
            Some(n) => {
                self.problem(key, &format!("must be at least {min}, got {n}"));
                default
            }
        }
    }

    fn baseline(&mut self, raw: RawBaseline, base: &Path) -> BaselineConfig {
        let command = self
            .non_empty("baseline.command", raw.command)
            .unwrap_or_else(|| DEFAULT_BASELINE_COMMAND.into());
        self.template("baseline.command", &command);
        let timeout = self.duration(
            "baseline.timeout",
            raw.timeout.as_deref(),
            Duration::from_secs(30 * 60),
        );
        let grace_period = self.duration(
            "baseline.grace_period",
            raw.grace_period.as_deref(),
            Duration::from_secs(10),
        );
        let max_log_bytes = match raw.max_log_bytes {
            None => 64 * 1024 * 1024,
            Some(n) if n >= 4096 => n as u64,
            Some(n) => {
                self.problem(
                    "baseline.max_log_bytes",
                    &format!("must be at least 4096, got {n}"),
                );
                64 * 1024 * 1024
            }
        };
        let overrides_file = PathBuf::from(
            self.non_empty("baseline.overrides_file", raw.overrides_file)
                .unwrap_or_else(|| "tether_baseline.json".into()),
        );
        if overrides_file.is_absolute()
            || overrides_file
                .components()
                .any(|c| matches!(c, std::path::Component::ParentDir))
        {
            self.problem(
                "baseline.overrides_file",
                "must be relative to the wrapper root and stay inside it",
            );
        }
        let references_dir = resolve(
            base,
            &self
                .non_empty("baseline.references_dir", raw.references_dir)
                .unwrap_or_else(|| "baselines".into()),
        );
        let vram_sample_interval = self.duration(
            "baseline.vram_sample_interval",
            raw.vram_sample_interval.as_deref(),
            Duration::from_millis(500),
        );
        let mut cases: Vec<CaseConfig> = Vec::new();
        for (i, c) in raw.case.into_iter().enumerate() {
            let k = |f: &str| format!("baseline.case[{i}].{f}");
            let canary = self.canary(&k(""), &c);
            let name = match self.non_empty(&k("name"), c.name.clone()) {
                Some(n)
                    if n.chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')) =>
                {
                    n
                }
                Some(n) => {
                    self.problem(&k("name"), &format!("`{n}` may only hold letters, digits, `-`, `_` and `.` (it names folders)"));
                    continue;
                }
                None => {
                    self.problem(&k("name"), "missing: every case needs a name");
                    continue;
                }
            };
            if cases.iter().any(|o| o.name == name) {
                self.problem(&k("name"), &format!("duplicate case name `{name}`"));
            }
            let model = self.non_empty(&k("model"), c.model).unwrap_or_default();
            if let Some(cmd) = &c.command {
                self.template(&k("command"), cmd);
            }
            let timeout = c
                .timeout
                .as_deref()
                .map(|t| self.duration(&k("timeout"), Some(t), timeout));
            let outputs = c.outputs.unwrap_or_default();
            self.globs(&k("outputs"), &outputs);
            let params = match c.params {
                None => serde_json::Map::new(),
                Some(t) => match serde_json::to_value(t) {
                    Ok(serde_json::Value::Object(m)) => m,
                    _ => {
                        self.problem(&k("params"), "must be a table of plain values");
                        serde_json::Map::new()
                    }
                },
            };
            let thresholds = ThresholdOverrides {
                min_mean_ssim: self.unit(&k("min_mean_ssim"), c.min_mean_ssim),
                max_duration_ratio: self.ratio(&k("max_duration_ratio"), c.max_duration_ratio),
                max_vram_ratio: self.ratio(&k("max_vram_ratio"), c.max_vram_ratio),
            };
            cases.push(CaseConfig {
                name,
                model,
                command: c.command,
                timeout,
                outputs,
                params,
                thresholds,
                canary,
            });
        }
        BaselineConfig {
            command,
            results_file: raw.results_file.filter(|s| !s.trim().is_empty()),
            timeout,
            grace_period,
            max_log_bytes,
            overrides_file,
            references_dir,
            vram_sample_interval,
            quality: raw.quality.unwrap_or(true),
            quality_max_side: self.count(
                "baseline.quality_max_side",
                raw.quality_max_side,
                256,
                16,
            ),
            thresholds: ThresholdOverrides {
                min_mean_ssim: self.unit("baseline.min_mean_ssim", raw.min_mean_ssim),
                max_duration_ratio: self
                    .ratio("baseline.max_duration_ratio", raw.max_duration_ratio),
                max_vram_ratio: self.ratio("baseline.max_vram_ratio", raw.max_vram_ratio),
            }
            .apply(Thresholds::default()),
            cases,
        }
    }

    /// The TorchScript canary of a case (`runner = "torchscript"`), checked.
    fn canary(&mut self, prefix: &str, c: &RawCase) -> Option<CanaryConfig> {
        let k = |f: &str| format!("{prefix}{f}");
        let runner = c.runner.as_deref().unwrap_or("command");
        let canary_keys = [
            ("export", c.export.is_some()),
            ("module", c.module.is_some()),
            ("method", c.method.is_some()),
            ("device", c.device.is_some()),
            ("dtype", c.dtype.is_some()),
            ("warmup", c.warmup.is_some()),
            ("iterations", c.iterations.is_some()),
            ("inputs", c.inputs.is_some()),
            ("max_abs_error", c.max_abs_error.is_some()),
            ("min_cosine", c.min_cosine.is_some()),
        ];
        match runner {
            "command" => {
                for (key, set) in canary_keys {
                    if set {
                        self.problem(
                            &k(key),
                            "only a `runner = \"torchscript\"` case takes this key",
                        );
                    }
                }
                return None;
            }
            "torchscript" => {}
            other => {
                self.problem(
                    &k("runner"),
                    &format!("`{other}` is not one of `command`, `torchscript`"),
                );
                return None;
            }
        }
        if let Some(e) = &c.export {
            self.template(&k("export"), e);
        }
        if c.export.is_none() == c.module.is_none() {
            self.problem(
                &k("export"),
                "a torchscript case needs exactly one of `export` (a command that writes {module_path}) and `module` (a fixed path)",
            );
        }
        let device = match c.device.as_deref() {
            None => None,
            Some(d) => match crate::protocol::DeviceChoice::parse(d) {
                Some(x) => Some(x),
                None => {
                    self.problem(
                        &k("device"),
                        &format!("`{d}` is not `auto`, `cpu` or `cuda:N`"),
                    );
                    None
                }
            },
        };
        let dtype = c.dtype.clone().unwrap_or_else(|| "fp32".into());
        if !["fp32", "bf16", "fp16"].contains(&dtype.as_str()) {
            self.problem(
                &k("dtype"),
                &format!("`{dtype}` is not one of fp32, bf16, fp16"),
            );
        }
        let mut inputs = Vec::new();
        for (j, t) in c.inputs.iter().flatten().enumerate() {
            let key = k(&format!("inputs[{j}]"));
            let get = |f: &str| t.get(f);
            let name = get("name")
                .and_then(|v| v.as_str())
                .map(str::to_owned)
                .unwrap_or_else(|| format!("input{j}"));
            let shape: Option<Vec<i64>> = get("shape")
                .and_then(|v| v.as_array())
                .map(|a| a.iter().filter_map(toml::Value::as_integer).collect());
            let Some(shape) = shape.filter(|s| !s.is_empty() && s.iter().all(|d| *d > 0)) else {
                self.problem(
                    &format!("{key}.shape"),
                    "needs a list of positive sizes, e.g. [1, 4, 16, 16]",
                );
                continue;
            };
            let fill = get("fill")
                .and_then(|v| v.as_str())
                .unwrap_or("normal")
                .to_owned();
            if !["normal", "uniform", "zeros", "ones", "constant"].contains(&fill.as_str()) {
                self.problem(
                    &format!("{key}.fill"),
                    &format!("`{fill}` is not one of normal, uniform, zeros, ones, constant"),
                );
            }
            for f in t.keys() {
                if !["name", "shape", "dtype", "fill", "value", "seed"].contains(&f.as_str()) {
                    self.problem(
                        &format!("{key}.{f}"),
                        "unknown key (known: name, shape, dtype, fill, value, seed)",
                    );
                }
            }
            inputs.push(crate::protocol::InputSpec {
                name,
                shape,
                dtype: get("dtype")
                    .and_then(|v| v.as_str())
                    .unwrap_or("fp32")
                    .to_owned(),
                fill,
                value: get("value")
                    .and_then(|v| v.as_float().or_else(|| v.as_integer().map(|i| i as f64)))
                    .unwrap_or(0.0),
                seed: get("seed").and_then(|v| v.as_integer()).unwrap_or(0).max(0) as u64,
            });
        }
        Some(CanaryConfig {
            export: c.export.clone(),
            module: c.module.clone().map(PathBuf::from),
            method: c.method.clone().unwrap_or_else(|| "forward".into()),
            device,
            dtype,
            warmup: self.count(&k("warmup"), c.warmup, 2, 0),
            iterations: self.count(&k("iterations"), c.iterations, 5, 1),
            inputs,
            max_abs_error: match c.max_abs_error {
                None => 1e-3,
                Some(x) if x >= 0.0 && x.is_finite() => x,
                Some(x) => {
                    self.problem(&k("max_abs_error"), &format!("must be 0 or more, got {x}"));
                    1e-3
                }
            },
            min_cosine: self.unit(&k("min_cosine"), c.min_cosine).unwrap_or(0.999),
        })
    }

    /// A value in 0..=1 (an SSIM limit).
    fn unit(&mut self, key: &str, value: Option<f64>) -> Option<f64> {
        match value {
            Some(x) if !(0.0..=1.0).contains(&x) => {
                self.problem(key, &format!("must be between 0 and 1, got {x}"));
                None
            }
            other => other,
        }
    }

    /// A ratio limit: at least 1 (a run may always be as slow as its reference).
    fn ratio(&mut self, key: &str, value: Option<f64>) -> Option<f64> {
        match value {
            Some(x) if !(x >= 1.0 && x.is_finite()) => {
                self.problem(key, &format!("must be a number of at least 1, got {x}"));
                None
            }
            other => other,
        }
    }

    fn schedule(&mut self, raw: RawSchedule) -> ScheduleConfig {
        let timezone = match raw.timezone.as_deref() {
            None => chrono_tz::Tz::UTC,
            Some(name) => name.parse().unwrap_or_else(|_| {
                self.problem(
                    "schedule.timezone",
                    &format!("`{name}` is not an IANA time zone (e.g. `UTC`, `Europe/Berlin`)"),
                );
                chrono_tz::Tz::UTC
            }),
        };
        let mut jobs = Vec::new();
        let exprs = [
            (JobKind::Check, raw.check),
            (JobKind::Update, raw.update),
            (JobKind::Baseline, raw.baseline),
            (JobKind::Housekeeping, raw.housekeeping),
        ];
        for (job, expr) in exprs {
            let Some(expr) = expr.filter(|e| !e.trim().is_empty()) else {
                continue;
            };
            let key = format!("schedule.{job}");
            match <cron::Schedule as std::str::FromStr>::from_str(expr.trim()) {
                Ok(s) => jobs.push((job, expr.trim().to_owned(), s)),
                Err(e) => self.problem(
                    &key,
                    &format!(
                        "`{expr}` is not a cron expression of the form `sec min hour day-of-month month day-of-week [year]` ({e})"
                    ),
                ),
            }
        }
        ScheduleConfig { timezone, jobs }
    }

    fn service(&mut self, raw: RawService) -> ServiceConfig {
        let listen = match raw.listen.as_deref().map(str::trim) {
            None => Some(std::net::SocketAddr::from(([127, 0, 0, 1], 9477))),
            Some("" | "off") => None,
            Some(a) => a.parse().map(Some).unwrap_or_else(|_| {
                self.problem(
                    "service.listen",
                    &format!("`{a}` is not an address like `127.0.0.1:9477` (or `off`)"),
                );
                None
            }),
        };
        let webhook = self
            .non_empty("service.webhook", raw.webhook)
            .map(crate::redact::Secret::new);
        if let Some(w) = &webhook
            && !(w.expose().starts_with("http://") || w.expose().starts_with("https://"))
        {
            self.problem("service.webhook", "must be an http:// or https:// URL");
        }
        let default = EndpointLimits::default();
        let endpoint = EndpointLimits {
            max_connections: self.count(
                "service.endpoint_max_connections",
                raw.endpoint_max_connections,
                default.max_connections,
                1,
            ),
            request_timeout: self.duration(
                "service.endpoint_request_timeout",
                raw.endpoint_request_timeout.as_deref(),
                default.request_timeout,
            ),
            idle_timeout: self.duration(
                "service.endpoint_idle_timeout",
                raw.endpoint_idle_timeout.as_deref(),
                default.idle_timeout,
            ),
            max_request_bytes: self.count(
                "service.endpoint_max_request_bytes",
                raw.endpoint_max_request_bytes,
                default.max_request_bytes,
                1024,
            ),
        };
        ServiceConfig {
            listen,
            endpoint,
            webhook,
            webhook_timeout: self.duration(
                "service.webhook_timeout",
                raw.webhook_timeout.as_deref(),
                Duration::from_secs(10),
            ),
            webhook_retries: self.count("service.webhook_retries", raw.webhook_retries, 5, 0),
            keep_outputs_days: self.count(
                "service.keep_outputs_days",
                raw.keep_outputs_days,
                14,
                1,
            ),
            keep_logs_days: self.count("service.keep_logs_days", raw.keep_logs_days, 14, 1),
            debug_log_max_lines: self.count(
                "service.debug_log_max_lines",
                raw.debug_log_max_lines,
                1000,
                10,
            ),
        }
    }

    fn gpu(&mut self, raw: RawGpu, base: &Path) -> GpuConfig {
        let preflight = match raw.preflight.as_deref() {
            None | Some("auto") => Preflight::Auto,
            Some("always") => Preflight::Always,
            Some("never") => Preflight::Never,
            Some(other) => {
                self.problem(
                    "gpu.preflight",
                    &format!("`{other}` is not one of `auto`, `always`, `never`"),
                );
                Preflight::Auto
            }
        };
        let device = match raw.device.as_deref() {
            None => crate::protocol::DeviceChoice::Auto,
            Some(d) => crate::protocol::DeviceChoice::parse(d).unwrap_or_else(|| {
                self.problem(
                    "gpu.device",
                    &format!("`{d}` is not a device: `auto`, `cpu` or `cuda:N`"),
                );
                crate::protocol::DeviceChoice::Auto
            }),
        };
        let worker = self
            .non_empty("gpu.worker", raw.worker)
            .map(|w| resolve(base, &w));
        let timeout = self.duration(
            "gpu.timeout",
            raw.timeout.as_deref(),
            Duration::from_secs(10 * 60),
        );
        let min_tflops = match raw.min_tflops {
            None => 0.0,
            Some(x) if x >= 0.0 && x.is_finite() => x,
            Some(x) => {
                self.problem("gpu.min_tflops", &format!("must be 0 or more, got {x}"));
                0.0
            }
        };
        GpuConfig {
            preflight,
            device,
            worker,
            timeout,
            min_tflops,
        }
    }

    /// Checks that a command template splits into words and names only known
    /// placeholders.
    fn template(&mut self, key: &str, template: &str) {
        if let Err(e) = shell_words::split(template) {
            self.problem(key, &format!("cannot split into words: {e}"));
            return;
        }
        let re = Regex::new(r"\{([^{}]*)\}").expect("placeholder regex");
        for cap in re.captures_iter(template) {
            let name = &cap[1];
            let known = PLACEHOLDERS.contains(&name)
                || name.strip_prefix("param.").is_some_and(|p| !p.is_empty());
            if !known {
                self.problem(
                    key,
                    &format!(
                        "unknown placeholder `{{{name}}}` (known: {}, and {{param.NAME}})",
                        PLACEHOLDERS.map(|p| format!("{{{p}}}")).join(", ")
                    ),
                );
            }
        }
    }

    fn update(&mut self, raw: RawUpdate) -> UpdateConfig {
        let max_attempts = self.count("update.max_attempts", raw.max_attempts, 10, 0);
        let switch_after_no_progress = self.count(
            "update.switch_after_no_progress",
            raw.switch_after_no_progress,
            5,
            1,
        );
        let switch_after_repeats = self.count(
            "update.switch_after_repeats",
            raw.switch_after_repeats,
            3,
            1,
        );
        let gpu_minutes_budget = match raw.gpu_minutes_budget {
            None => None,
            Some(x) if x > 0.0 && x.is_finite() => Some(x),
            Some(x) => {
                self.problem(
                    "update.gpu_minutes_budget",
                    &format!("must be a positive number of minutes, got {x}"),
                );
                None
            }
        };
        let strategies = match raw.strategies {
            None => StrategyKind::ALL.to_vec(),
            Some(list) => {
                let mut out = Vec::new();
                for (j, s) in list.iter().enumerate() {
                    match StrategyKind::ALL.iter().find(|k| k.as_str() == s) {
                        Some(k) if out.contains(k) => self.problem(
                            &format!("update.strategies[{j}]"),
                            &format!("`{s}` is listed twice"),
                        ),
                        Some(k) => out.push(*k),
                        None => self.problem(
                            &format!("update.strategies[{j}]"),
                            &format!(
                                "unknown strategy `{s}` (known: {})",
                                StrategyKind::ALL.map(|k| k.as_str()).join(", ")
                            ),
                        ),
                    }
                }
                out
            }
        };
        let on_unfixable = match raw.on_unfixable.as_deref() {
            None | Some("rollback") => OnUnfixable::Rollback,
            Some("adopt-last-good") => OnUnfixable::AdoptLastGood,
            Some(other) => {
                self.problem(
                    "update.on_unfixable",
                    &format!("expected `rollback` or `adopt-last-good`, got `{other}`"),
                );
                OnUnfixable::Rollback
            }
        };
        let author = raw
            .commit_author
            .unwrap_or_else(|| "tether <tether@localhost>".into());
        let commit_author = match author.split_once('<') {
            Some((name, rest)) if rest.ends_with('>') && !name.trim().is_empty() => (
                name.trim().to_owned(),
                rest.trim_end_matches('>').trim().to_owned(),
            ),
            _ => {
                self.problem(
                    "update.commit_author",
                    &format!("expected `Name <email>`, got `{author}`"),
                );
                ("tether".into(), "tether@localhost".into())
            }
        };
        UpdateConfig {
            max_attempts,
            switch_after_no_progress,
            switch_after_repeats,
            gpu_minutes_budget,
            strategies,
            on_unfixable,
            commit_author,
            allow_regressions: raw.allow_regressions.unwrap_or(false),
            bisect_retries: self.count("update.bisect_retries", raw.bisect_retries, 0, 0),
        }
    }

    fn fix(&mut self, raw: RawFix, base: &Path) -> FixConfig {
        let frame_step = self.count("fix.frame_step", raw.frame_step, 4, 1);
        let min_length = self.count("fix.min_length", raw.min_length, 17, 1);
        let resolution_scale = match raw.resolution_scale {
            None => 0.75,
            Some(x) if x > 0.0 && x < 1.0 => x,
            Some(x) => {
                self.problem(
                    "fix.resolution_scale",
                    &format!("must be between 0 and 1 (exclusive), got {x}"),
                );
                0.75
            }
        };
        let min_resolution = match raw.min_resolution.as_deref() {
            None => (256, 256),
            Some(s) => match parse_resolution(s) {
                Some(r) => r,
                None => {
                    self.problem(
                        "fix.min_resolution",
                        &format!("expected `WIDTHxHEIGHT`, got `{s}`"),
                    );
                    (256, 256)
                }
            },
        };
        let memory_profile_values = raw
            .memory_profile_values
            .unwrap_or_default()
            .into_iter()
            .filter_map(|v| serde_json::to_value(v).ok())
            .collect();
        if let Some(cmd) = &raw.external_command {
            if let Err(e) = shell_words::split(cmd) {
                self.problem(
                    "fix.external_command",
                    &format!("cannot split into words: {e}"),
                );
            }
        }
        FixConfig {
            length_param: raw.length_param.unwrap_or_else(|| "video_length".into()),
            frame_step,
            min_length,
            resolution_param: raw.resolution_param.unwrap_or_else(|| "resolution".into()),
            resolution_scale,
            min_resolution,
            memory_profile_param: raw.memory_profile_param.unwrap_or_else(|| "profile".into()),
            memory_profile_values,
            samples_dir: raw
                .samples_dir
                .filter(|s| !s.is_empty())
                .map(|s| resolve(base, &s)),
            external_command: raw.external_command.filter(|s| !s.trim().is_empty()),
            external_timeout: self.duration(
                "fix.external_timeout",
                raw.external_timeout.as_deref(),
                Duration::from_secs(20 * 60),
            ),
        }
    }
}

/// Placeholders a command template may use (besides `{param.NAME}`).
pub const PLACEHOLDERS: [&str; 9] = [
    "python",
    "root",
    "output_dir",
    "settings_json",
    "case",
    "model",
    "run_id",
    "module_path",
    "inputs_path",
];

pub const DEFAULT_BASELINE_COMMAND: &str =
    "{python} test_model_comparison.py --settings {settings_json} --output-dir {output_dir}";

/// Parses `WIDTHxHEIGHT`.
pub fn parse_resolution(s: &str) -> Option<(u32, u32)> {
    let (w, h) = s.trim().split_once(['x', 'X', '*'])?;
    let (w, h) = (w.trim().parse().ok()?, h.trim().parse().ok()?);
    (w > 0 && h > 0).then_some((w, h))
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
