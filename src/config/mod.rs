//! Owns tether's configuration: reading `tether.toml`, checking it, and
//! reporting every problem with its dotted key and line. Does not own what
//! the settings mean at run time; each module reads its own section.

mod locate;
mod model;
mod raw;
mod validate;

use std::path::{Path, PathBuf};

pub use locate::Locator;
pub use model::*;
pub use validate::{
    DEFAULT_PROTECTED, PLACEHOLDERS, normalize_path, parse_resolution, parse_track,
};

/// The documented example config, embedded so `tether config example` can
/// print it and tests can parse it.
pub const EXAMPLE: &str = include_str!("../../tether.example.toml");

/// One problem in a config file.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ConfigProblem {
    /// Dotted key, e.g. `upstream[0].track`.
    pub key: String,
    /// 1-based line in the config file, when known.
    pub line: Option<usize>,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file `{}`", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}", render_problems(path, problems))]
    Invalid {
        path: PathBuf,
        problems: Vec<ConfigProblem>,
    },
}

fn render_problems(path: &Path, problems: &[ConfigProblem]) -> String {
    let mut out = format!(
        "invalid config `{}` ({} problem{}):",
        path.display(),
        problems.len(),
        if problems.len() == 1 { "" } else { "s" }
    );
    for p in problems {
        match p.line {
            Some(l) => out.push_str(&format!("\n  line {l}: `{}`: {}", p.key, p.message)),
            None => out.push_str(&format!("\n  `{}`: {}", p.key, p.message)),
        }
    }
    out
}

impl Config {
    /// Reads and validates a config file. Relative paths inside it are
    /// resolved against the file's folder.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = fs_err::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        let base = abs.parent().map(Path::to_path_buf).unwrap_or_default();
        let mut cfg = Config::parse(&text, &base).map_err(|problems| ConfigError::Invalid {
            path: path.to_path_buf(),
            problems,
        })?;
        cfg.source = Some(abs);
        Ok(cfg)
    }

    /// Parses and validates config text; relative paths resolve against `base`.
    pub fn parse(text: &str, base: &Path) -> Result<Config, Vec<ConfigProblem>> {
        let locator = Locator::new(text);
        let raw: raw::RawConfig = match toml::from_str(text) {
            Ok(r) => r,
            Err(e) => {
                let (line, key) = match e.span() {
                    Some(span) => (
                        Some(locator.line_of_offset(span.start)),
                        locator.key_at_offset(span.start),
                    ),
                    None => (None, None),
                };
                let message = e.message().trim().to_owned();
                let key = key.unwrap_or_else(|| "(document)".into());
                // serde names an unknown field; add it to the key when the span
                // points at the enclosing table.
                let key = match unknown_field(&message) {
                    Some(f) if !key.ends_with(&f) => {
                        if key == "(document)" {
                            f
                        } else {
                            format!("{key}.{f}")
                        }
                    }
                    _ => key,
                };
                return Err(vec![ConfigProblem { key, line, message }]);
            }
        };
        validate::validate(raw, base).map_err(|problems| {
            problems
                .into_iter()
                .map(|p| ConfigProblem {
                    line: locator.line_of_key(&p.key),
                    key: p.key,
                    message: p.message,
                })
                .collect()
        })
    }
}

fn unknown_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    Some(rest.split('`').next()?.to_owned())
}

/// Things that are valid but probably not meant, checked against the disk
/// without changing anything (e.g. the wrapper root does not exist yet).
pub fn warnings(cfg: &Config) -> Vec<String> {
    let mut out = Vec::new();
    if !cfg.project.root.is_dir() {
        out.push(format!(
            "project.root `{}` does not exist",
            cfg.project.root.display()
        ));
    }
    for (i, u) in cfg.upstreams.iter().enumerate() {
        let p = cfg.project.root.join(&u.path);
        if !p.exists() {
            out.push(format!(
                "upstream[{i}].path `{}` does not exist in the wrapper",
                p.display()
            ));
        }
        if u.layout == Layout::Vendored && !cfg.project.root.join(&u.record_file).is_file() {
            out.push(format!(
                "upstream[{i}].record_file `{}` does not exist",
                cfg.project.root.join(&u.record_file).display()
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(text: &str) -> Vec<ConfigProblem> {
        Config::parse(text, Path::new("/base")).unwrap_err()
    }

    #[test]
    fn example_parses_and_documents_every_key() {
        let cfg = Config::parse(EXAMPLE, Path::new("/base")).expect("example config is valid");
        assert_eq!(cfg.upstreams.len(), 1);
        assert_eq!(cfg.upstreams[0].name, "wan2gp");
        // every key of the raw structs appears in the example, commented
        for key in [
            "name",
            "root",
            "python",
            "state_dir",
            "analysis_dir",
            "outputs_dir",
            "wrapper_source",
            "url",
            "path",
            "layout",
            "track",
            "soak",
            "key_files",
            "record_file",
            "record_pattern",
            "credential_timeout",
            "scan",
            "exclude",
            "api_modules",
            "config_dirs",
            "protected_packages",
            "max_file_bytes",
            "rename_similarity",
            "max_findings_per_kind",
            "max_findings_per_file",
            "max_report_bytes",
            // [baseline] and its cases
            "command",
            "results_file",
            "timeout",
            "grace_period",
            "max_log_bytes",
            "overrides_file",
            "references_dir",
            "vram_sample_interval",
            "quality",
            "quality_max_side",
            "min_mean_ssim",
            "max_duration_ratio",
            "max_vram_ratio",
            "model",
            "outputs",
            "params",
            "runner",
            "export",
            "module",
            "method",
            "device",
            "dtype",
            "warmup",
            "iterations",
            "inputs",
            "max_abs_error",
            "min_cosine",
            // [update]
            "max_attempts",
            "switch_after_no_progress",
            "switch_after_repeats",
            "gpu_minutes_budget",
            "strategies",
            "on_unfixable",
            "commit_author",
            "allow_regressions",
            "bisect_retries",
            // [fix]
            "length_param",
            "frame_step",
            "min_length",
            "resolution_param",
            "resolution_scale",
            "min_resolution",
            "memory_profile_param",
            "memory_profile_values",
            "samples_dir",
            "external_command",
            "external_timeout",
            // [gpu]
            "preflight",
            "worker",
            "min_tflops",
            // [schedule]
            "timezone",
            "check",
            "update",
            "baseline",
            "housekeeping",
            // [service]
            "listen",
            "endpoint_max_connections",
            "endpoint_request_timeout",
            "endpoint_idle_timeout",
            "endpoint_max_request_bytes",
            "webhook",
            "webhook_timeout",
            "webhook_retries",
            "keep_outputs_days",
            "keep_logs_days",
            "debug_log_max_lines",
        ] {
            assert!(
                EXAMPLE.lines().any(|l| l
                    .trim_start()
                    .trim_start_matches("# ")
                    .starts_with(&format!("{key} ="))),
                "example config does not document `{key}`"
            );
        }
    }

    #[test]
    fn unknown_key_names_key_and_line() {
        let p = problems("[project]\nroot = \".\"\nrooot = \"x\"\n");
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].key, "project.rooot");
        assert_eq!(p[0].line, Some(3));
    }

    #[test]
    fn wrong_type_names_key_and_line() {
        let p = problems(
            "[[upstream]]\nname = \"a\"\nurl = \"u\"\npath = \"p\"\nlayout = \"clone\"\nsoak = 5\n",
        );
        assert_eq!(p[0].key, "upstream[0].soak");
        assert_eq!(p[0].line, Some(6));
    }

    #[test]
    fn impossible_values_are_all_collected() {
        let p = problems(
            "[[upstream]]\nname = \"a\"\nurl = \"u\"\npath = \"../p\"\nlayout = \"copy\"\ntrack = \"main\"\nsoak = \"soon\"\n\n[analysis]\nrename_similarity = 2.0\n",
        );
        let keys: Vec<_> = p.iter().map(|p| (p.key.as_str(), p.line)).collect();
        assert!(keys.contains(&("upstream[0].path", Some(4))), "{keys:?}");
        assert!(keys.contains(&("upstream[0].layout", Some(5))), "{keys:?}");
        assert!(keys.contains(&("upstream[0].track", Some(6))), "{keys:?}");
        assert!(keys.contains(&("upstream[0].soak", Some(7))), "{keys:?}");
        assert!(
            keys.contains(&("analysis.rename_similarity", Some(10))),
            "{keys:?}"
        );
    }

    #[test]
    fn analysis_caps_are_checked() {
        let p = problems(
            "[[upstream]]\nname = \"a\"\nurl = \"u\"\npath = \"p\"\nlayout = \"clone\"\n\n[analysis]\nmax_findings_per_kind = -1\nmax_findings_per_file = -3\nmax_report_bytes = 100\n",
        );
        let keys: Vec<_> = p.iter().map(|p| (p.key.as_str(), p.line)).collect();
        for (key, line) in [
            ("analysis.max_findings_per_kind", 8),
            ("analysis.max_findings_per_file", 9),
            ("analysis.max_report_bytes", 10),
        ] {
            assert!(keys.contains(&(key, Some(line))), "{key}: {keys:?}");
        }
        let cfg = Config::parse(
            "[[upstream]]\nname = \"a\"\nurl = \"u\"\npath = \"p\"\nlayout = \"clone\"\n\n[analysis]\nmax_findings_per_kind = 0\nmax_report_bytes = 4096\n",
            Path::new("/base"),
        )
        .unwrap();
        assert_eq!(cfg.analysis.max_findings_per_kind, 0);
        assert_eq!(cfg.analysis.max_findings_per_file, 100);
        assert_eq!(cfg.analysis.max_report_bytes, 4096);
    }

    #[test]
    fn baseline_update_and_fix_sections_are_checked() {
        let p = problems(
            "[[upstream]]\nname = \"a\"\nurl = \"u\"\npath = \"p\"\nlayout = \"clone\"\n\n[baseline]\ncommand = \"{python} run.py {nope}\"\ntimeout = \"0s\"\n\n[[baseline.case]]\nname = \"a b\"\n\n[update]\nstrategies = [\"oom\", \"magic\"]\ncommit_author = \"nobody\"\n\n[fix]\nresolution_scale = 1.5\n",
        );
        let keys: Vec<_> = p.iter().map(|p| (p.key.as_str(), p.line)).collect();
        assert!(keys.contains(&("baseline.command", Some(8))), "{keys:?}");
        assert!(keys.contains(&("baseline.timeout", Some(9))), "{keys:?}");
        assert!(
            keys.contains(&("baseline.case[0].name", Some(12))),
            "{keys:?}"
        );
        assert!(
            keys.contains(&("update.strategies[1]", Some(15))),
            "{keys:?}"
        );
        assert!(
            keys.contains(&("update.commit_author", Some(16))),
            "{keys:?}"
        );
        assert!(
            keys.contains(&("fix.resolution_scale", Some(19))),
            "{keys:?}"
        );
    }

    #[test]
    fn example_baseline_case_has_typed_params() {
        let cfg = Config::parse(EXAMPLE, Path::new("/base")).unwrap();
        let case = &cfg.baseline.cases[0];
        assert_eq!(case.params["video_length"], 81);
        assert_eq!(case.params["resolution"], "832x480");
        assert_eq!(cfg.update.strategies.len(), 6);
        assert_eq!(
            cfg.baseline.references_dir,
            PathBuf::from("/base/baselines")
        );
    }

    #[test]
    fn missing_upstream_is_an_error() {
        let p = problems("[project]\nroot = \".\"\n");
        assert_eq!(p[0].key, "upstream");
    }

    #[test]
    fn relative_paths_resolve_against_config_folder() {
        let cfg = Config::parse(
            "[project]\nroot = \"wrapper\"\n[[upstream]]\nname = \"a\"\nurl = \"u\"\npath = \"up\"\nlayout = \"clone\"\n",
            Path::new("/base/conf"),
        )
        .unwrap();
        assert_eq!(cfg.project.root, PathBuf::from("/base/conf/wrapper"));
        assert_eq!(cfg.project.state_dir, PathBuf::from("/base/conf/.tether"));
        assert_eq!(cfg.upstreams[0].soak, std::time::Duration::ZERO);
        assert_eq!(cfg.upstreams[0].track, Track::Branch("main".into()));
    }

    #[test]
    fn track_forms() {
        assert_eq!(parse_track("tag:v*").unwrap(), Track::Tag("v*".into()));
        assert!(parse_track("pinned:xyz").is_err());
        assert!(parse_track("branch:").is_err());
    }
}
