//! Owns tether's configuration: reading `tether.toml`, checking it, and
//! reporting every problem with its dotted key and line. Does not own what
//! the settings mean at run time; each module reads its own section.

mod defaults;
mod locate;
mod model;
mod parse;
mod raw;
mod validate;
mod value;

use std::path::{Path, PathBuf};

pub use defaults::PROTECTED as DEFAULT_PROTECTED;
pub use locate::Locator;
pub use model::*;
pub use validate::normalize_path;
pub use value::{PLACEHOLDERS, parse_resolution};

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
    #[error(
        "config file `{}` is not UTF-8 text: line {line}, column {column} holds bytes that are not UTF-8",
        path.display()
    )]
    NotUtf8 {
        path: PathBuf,
        line: usize,
        column: usize,
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
        let bytes = fs_err::read(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let text = String::from_utf8(bytes).map_err(|e| {
            let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let line_start = good.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
            ConfigError::NotUtf8 {
                path: path.to_path_buf(),
                line: good.iter().filter(|b| **b == b'\n').count() + 1,
                column: good.len() - line_start + 1,
            }
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
    /// Every problem is returned, each with its dotted key and line, in two
    /// stages: first every value that does not parse (wrong type, unknown
    /// key, value out of its range); when all parse, every rule between
    /// keys (a required key missing, two names the same).
    pub fn parse(text: &str, base: &Path) -> Result<Config, Vec<ConfigProblem>> {
        let parsed = parse::parse(text);
        let Some(raw) = parsed.raw else {
            return Err(parsed.problems);
        };
        let locator = Locator::new(text);
        let rejected = parsed.problems;
        match validate::validate(raw, base) {
            Ok(cfg) if rejected.is_empty() => Ok(cfg),
            Ok(_) => Err(rejected),
            Err(problems) => {
                // the rules between keys, on what parsed; a rule about a
                // rejected key (taken out, so "missing") says nothing new
                let related = |key: &str| {
                    rejected.iter().any(|r| {
                        key == r.key
                            || key.starts_with(&format!("{}.", r.key))
                            || r.key.starts_with(&format!("{key}."))
                    })
                };
                let mut all = rejected.clone();
                all.extend(problems.into_iter().filter(|p| !related(&p.key)).map(|p| {
                    ConfigProblem {
                        line: locator.line_of_key(&p.key),
                        key: p.key,
                        message: p.message,
                    }
                }));
                all.sort_by_key(|p| p.line.unwrap_or(usize::MAX));
                Err(all)
            }
        }
    }
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
        // a pinned upstream's checkout is the app's to make
        if !p.exists() && u.layout != Layout::Pinned {
            out.push(format!(
                "upstream[{i}].path `{}` does not exist in the wrapper",
                p.display()
            ));
        }
        let record_needed = match u.layout {
            Layout::Pinned => true,
            Layout::Vendored => u.record_file_configured,
            Layout::Submodule | Layout::Clone => false,
        };
        if record_needed && !cfg.project.root.join(&u.record_file).is_file() {
            out.push(format!(
                "upstream[{i}].record_file `{}` does not exist",
                cfg.project.root.join(&u.record_file).display()
            ));
        }
    }
    out
}

#[cfg(test)]
mod example_test;

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(text: &str) -> Vec<ConfigProblem> {
        Config::parse(text, Path::new("/base")).unwrap_err()
    }

    #[test]
    fn example_parses() {
        let cfg = Config::parse(EXAMPLE, Path::new("/base")).expect("example config is valid");
        assert_eq!(cfg.upstreams.len(), 1);
        assert_eq!(cfg.upstreams[0].name, "wan2gp");
    }

    /// `tether.example.toml` with every commented-out key and table header
    /// uncommented, as [`example_test::uncomment`] describes.
    #[test]
    fn example_documents_every_key() {
        let full = example_test::uncomment(EXAMPLE);
        let raw: raw::RawConfig = toml::from_str(&full)
            .unwrap_or_else(|e| panic!("the uncommented example does not parse: {e}\n{full}"));
        let doc: toml::Table = toml::from_str(&full).unwrap();
        let unset = example_test::unset_fields(&raw, &doc);
        assert!(
            unset.is_empty(),
            "tether.example.toml does not document these keys (add each, commented out \
             with its default and a line saying what it does): {unset:#?}"
        );
    }

    #[test]
    fn unknown_key_names_key_and_line() {
        let p = problems("[project]\nroot = \".\"\nrooot = \"x\"\n");
        assert_eq!(p[0].key, "project.rooot");
        assert_eq!(p[0].line, Some(3));
        // and, in the same run, the rule the rest breaks: no upstream
        assert_eq!(p.len(), 2, "{p:#?}");
        assert!(p[1].message.contains("upstream"), "{p:#?}");
    }

    /// An unknown key, wrong types and a rule between keys, all in one run
    /// and in file order (a rejected key is not also reported missing).
    #[test]
    fn every_problem_at_once_in_file_order() {
        let text = "[project]\nroot = \".\"\n\nbogus = 1\n\n[[upstream]]\nname = \"a\"\nurl = \"u\"\npath = \"p\"\nlayout = 5\n\n[[upstream]]\nname = \"b\"\nurl = \"u\"\npath = \"q\"\n\n[gpu]\nmin_tflops = \"lots\"\n";
        let p = problems(text);
        let got: Vec<(Option<usize>, &str)> = p.iter().map(|p| (p.line, p.key.as_str())).collect();
        assert_eq!(
            got,
            [
                (Some(4), "project.bogus"),
                (Some(10), "upstream[0].layout"),
                (Some(12), "upstream[1].layout"),
                (Some(18), "gpu.min_tflops"),
            ],
            "{p:#?}"
        );
    }

    #[test]
    fn pinned_keys_are_checked_with_their_lines() {
        let pinned = "[[upstream]]\nname = \"a\"\nurl = \"u\"\npath = \"p\"\nlayout = \"pinned\"\n";
        let p = problems(pinned);
        assert_eq!(p[0].key, "upstream[0].record_file");
        let p = problems(&format!(
            "{pinned}record_file = \"pins.json\"\nrecord_key = \"a.b\"\nrecord_pattern = '(x)'\n"
        ));
        assert_eq!(p[0].key, "upstream[0].record_key");
        assert_eq!(p[0].line, Some(7));
        assert!(p[0].message.contains("not both"), "{}", p[0].message);
        let p = problems(
            &pinned
                .replace("pinned", "clone")
                .replace("\"p\"", "\"p\"\nrecord_key = \"a\""),
        );
        assert!(
            p[0].message.contains("only the `pinned` layout"),
            "{}",
            p[0].message
        );
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

    const UPSTREAM: &str =
        "[[upstream]]\nname = \"a\"\nurl = \"u\"\npath = \"p\"\nlayout = \"clone\"\n";

    fn only(text: &str, key: &str) -> ConfigProblem {
        let p = problems(text);
        let found: Vec<_> = p.iter().filter(|p| p.key == key).collect();
        assert_eq!(found.len(), 1, "{key}: {p:#?}");
        found[0].clone()
    }

    #[test]
    fn a_bad_enum_value_names_key_line_and_the_accepted_values() {
        let p = only(
            "[[upstream]]\nname = \"a\"\nurl = \"u\"\npath = \"p\"\nlayout = \"copy\"\n",
            "upstream[0].layout",
        );
        assert_eq!(p.line, Some(5));
        for v in ["`copy`", "`submodule`", "`clone`", "`vendored`"] {
            assert!(p.message.contains(v), "{}", p.message);
        }
        let p = only(&format!("{UPSTREAM}base = \"guess\"\n"), "upstream[0].base");
        assert_eq!(p.line, Some(6));
        assert!(
            p.message.contains("`guess`, expected `detect` or `record`"),
            "{}",
            p.message
        );
        let p = only(
            &format!("{UPSTREAM}[gpu]\npreflight = \"maybe\"\n"),
            "gpu.preflight",
        );
        assert_eq!(p.line, Some(7));
        assert!(
            p.message.contains("`auto`, `always`, `never`"),
            "{}",
            p.message
        );
    }

    #[test]
    fn every_bad_value_is_listed_not_only_the_first() {
        let p = problems(&format!(
            "{UPSTREAM}[update]\nstrategies = [\"oom\", \"magic\", \"nope\"]\non_unfixable = \"pray\"\nmax_attempts = -1\nbogus = 1\n[service]\nlisten = \"nowhere\"\nwebhook_timeout = \"0s\"\n"
        ));
        let keys: Vec<_> = p.iter().map(|p| (p.key.as_str(), p.line)).collect();
        assert_eq!(
            keys,
            [
                ("update.strategies[1]", Some(7)),
                ("update.strategies[2]", Some(7)),
                ("update.on_unfixable", Some(8)),
                ("update.max_attempts", Some(9)),
                ("update.bogus", Some(10)),
                ("service.listen", Some(12)),
                ("service.webhook_timeout", Some(13)),
            ]
        );
        assert!(p[0].message.contains("`magic`") && p[0].message.contains("`api-drift`"));
        assert!(
            p[3].message.contains("must be at least 0, got -1"),
            "{}",
            p[3].message
        );
        assert!(
            p[6].message.contains("longer than zero"),
            "{}",
            p[6].message
        );
    }

    #[test]
    fn bad_canary_inputs_name_the_input_key() {
        let p = only(
            &format!(
                "{UPSTREAM}[[baseline.case]]\nname = \"c\"\nrunner = \"torchscript\"\nmodule = \"m.pt\"\ninputs = [{{ shape = [1], fill = \"zeros\" }}, {{ shape = [0], fill = \"lots\", colour = 1 }}]\n"
            ),
            "baseline.case[0].inputs[1].shape",
        );
        assert!(p.message.contains("positive sizes"), "{}", p.message);
        only(
            &format!(
                "{UPSTREAM}[[baseline.case]]\nname = \"c\"\nrunner = \"torchscript\"\nmodule = \"m.pt\"\ninputs = [{{ shape = [2], fill = \"lots\" }}]\n"
            ),
            "baseline.case[0].inputs[0].fill",
        );
        only(
            &format!(
                "{UPSTREAM}[[baseline.case]]\nname = \"c\"\nrunner = \"torchscript\"\nmodule = \"m.pt\"\ninputs = [{{ shape = [2], colour = 1 }}]\n"
            ),
            "baseline.case[0].inputs[0].colour",
        );
    }

    #[test]
    fn a_syntax_error_is_one_problem_with_its_line() {
        let p = problems("[project]\nroot = \".\"\nname = \n");
        assert_eq!(p.len(), 1, "{p:#?}");
        assert_eq!(p[0].line, Some(3));
    }

    #[test]
    fn durations_read_as_before() {
        let cfg = Config::parse(
            &format!(
                "{UPSTREAM}soak = \"1h 30m\"\ncredential_timeout = \"2days\"\n[baseline]\ntimeout = \"90s\"\ngrace_period = \"1.5s\"\nvram_sample_interval = \"250ms\"\n"
            ),
            Path::new("/base"),
        )
        .unwrap();
        let secs = std::time::Duration::from_secs;
        assert_eq!(cfg.upstreams[0].soak, secs(5400));
        assert_eq!(cfg.upstreams[0].credential_timeout, secs(172_800));
        assert_eq!(cfg.baseline.timeout, secs(90));
        assert_eq!(
            cfg.baseline.grace_period,
            std::time::Duration::from_millis(1500)
        );
        assert_eq!(
            cfg.baseline.vram_sample_interval,
            std::time::Duration::from_millis(250)
        );
        let p = only(
            &format!("{UPSTREAM}soak = \"2 fortnights\"\n"),
            "upstream[0].soak",
        );
        assert!(
            p.message.contains("`2 fortnights` is not a duration"),
            "{}",
            p.message
        );
        assert!(p.message.contains("unknown time unit"), "{}", p.message);
        let p = only(&format!("{UPSTREAM}soak = 5\n"), "upstream[0].soak");
        assert!(p.message.contains("a duration like"), "{}", p.message);
    }

    #[test]
    fn schedules_and_time_zones() {
        let cfg = Config::parse(
            &format!(
                "{UPSTREAM}[schedule]\ntimezone = \"Europe/Berlin\"\ncheck = \"0 */15 * * * *\"\nupdate = \"\"\nbaseline = \"0 0 5 * * Sun\"\n"
            ),
            Path::new("/base"),
        )
        .unwrap();
        assert_eq!(cfg.schedule.timezone.iana_name(), Some("Europe/Berlin"));
        let jobs: Vec<_> = cfg
            .schedule
            .jobs
            .iter()
            .map(|(j, e, _)| (*j, e.as_str()))
            .collect();
        assert_eq!(
            jobs,
            [
                (JobKind::Check, "0 */15 * * * *"),
                (JobKind::Baseline, "0 0 5 * * Sun")
            ]
        );
        let p = problems(&format!(
            "{UPSTREAM}[schedule]\ntimezone = \"Mars/Olympus\"\ncheck = \"*/15 * * * *\"\n"
        ));
        assert_eq!(p.len(), 2, "{p:#?}");
        assert!(
            p[0].message.contains("not an IANA time zone"),
            "{}",
            p[0].message
        );
        assert!(
            p[1].message.contains("is not a cron expression"),
            "{}",
            p[1].message
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
        assert_eq!(cfg.update.strategies.len(), 7);
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
