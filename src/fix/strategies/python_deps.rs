//! The python-deps family: a module is missing; install the staged
//! upstream's requirements with every protected package pinned to the
//! version installed now, then put back any protected package pip changed
//! anyway.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use super::{AppliedFix, FixContext, Strategy};
use crate::config::{Config, StrategyKind, normalize_package};
use crate::fix::classify::{Failure, FailureClass};
use crate::fix::error::FixError;
use crate::process::{ProcessOutcome, ProcessSpec, run};

/// How long one pip command may run.
const PIP_TIMEOUT: Duration = Duration::from_secs(30 * 60);

pub struct PythonDeps;

/// `pip freeze` output as normalised name -> version (`name==version` lines
/// only; editable and URL installs have no version to pin).
pub fn parse_freeze(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| {
            let l = l.trim();
            if l.starts_with('#') || l.starts_with('-') {
                return None;
            }
            let (name, version) = l.split_once("==")?;
            let name = name.split('[').next().unwrap_or(name).trim();
            Some((normalize_package(name), version.trim().to_owned()))
        })
        .collect()
}

/// The constraints file: every protected installed package pinned.
pub fn constraints(cfg: &Config, installed: &BTreeMap<String, String>) -> String {
    let mut out = String::from("# written by tether: protected packages stay as installed\n");
    for (name, version) in installed {
        if cfg.analysis.is_protected(name) {
            out.push_str(&format!("{name}=={version}\n"));
        }
    }
    out
}

/// The pip command line for installing `requirements` under `constraints`.
pub(crate) fn install_argv(python: &str, requirements: &Path, constraints: &Path) -> Vec<String> {
    vec![
        python.to_owned(),
        "-m".into(),
        "pip".into(),
        "install".into(),
        "--disable-pip-version-check".into(),
        "-r".into(),
        requirements.to_string_lossy().into_owned(),
        "-c".into(),
        constraints.to_string_lossy().into_owned(),
    ]
}

fn pip(ctx: &FixContext<'_>, name: &str, argv: Vec<String>) -> Result<ProcessOutcome, FixError> {
    crate::state::create_private_dir(ctx.context_dir)
        .map_err(FixError::io("create folder", ctx.context_dir))?;
    let spec = ProcessSpec {
        argv,
        cwd: ctx.tree.to_path_buf(),
        env: vec![("PIP_NO_INPUT".into(), "1".into())],
        timeout: PIP_TIMEOUT,
        grace: Duration::from_secs(10),
        stdout_path: ctx.context_dir.join(format!("{name}.stdout.log")),
        stderr_path: ctx.context_dir.join(format!("{name}.stderr.log")),
        max_log_bytes: 8 << 20,
        cancel: None,
    };
    let out = run(&spec, &mut || {}).map_err(|source| FixError::Process {
        what: format!("pip ({name})"),
        source,
    })?;
    if !out.exit.success() {
        return Err(FixError::CommandFailed {
            what: format!("pip {name}"),
            exit: out.exit.to_string(),
            log: spec.stderr_path,
        });
    }
    Ok(out)
}

/// `{python} -m pip freeze`, read back from its log (the tail may be cut).
pub(crate) fn freeze(
    ctx: &FixContext<'_>,
    name: &str,
) -> Result<BTreeMap<String, String>, FixError> {
    let python = ctx.cfg.project.python.clone();
    pip(
        ctx,
        name,
        vec![python, "-m".into(), "pip".into(), "freeze".into()],
    )?;
    let log = ctx.context_dir.join(format!("{name}.stdout.log"));
    let text = fs_err::read_to_string(&log).map_err(FixError::io("read", &log))?;
    Ok(parse_freeze(&text))
}

impl Strategy for PythonDeps {
    fn kind(&self) -> StrategyKind {
        StrategyKind::PythonDeps
    }

    fn applies(&self, f: &Failure) -> bool {
        matches!(f.class, FailureClass::MissingModule { .. })
    }

    fn apply(&self, ctx: &FixContext<'_>, f: &Failure) -> Result<Option<AppliedFix>, FixError> {
        let FailureClass::MissingModule { module } = &f.class else {
            return Ok(None);
        };
        let na = |r: String| FixError::not_applicable(StrategyKind::PythonDeps, r);
        let requirements = ctx.upstream_dir.join("requirements.txt");
        if !requirements.is_file() {
            return Err(na(format!(
                "the staged upstream has no requirements.txt ({})",
                requirements.display()
            )));
        }
        let before = freeze(ctx, "freeze-before")?;
        let constraints_path = ctx.context_dir.join("constraints.txt");
        crate::state::write_atomic(&constraints_path, constraints(ctx.cfg, &before).as_bytes())
            .map_err(FixError::io("write", &constraints_path))?;
        let python = &ctx.cfg.project.python;
        pip(
            ctx,
            "install",
            install_argv(python, &requirements, &constraints_path),
        )?;
        let after = freeze(ctx, "freeze-after")?;
        let mut restored = Vec::new();
        for (name, version) in &before {
            if ctx.cfg.analysis.is_protected(name) && after.get(name) != Some(version) {
                pip(
                    ctx,
                    &format!("restore-{name}"),
                    vec![
                        python.clone(),
                        "-m".into(),
                        "pip".into(),
                        "install".into(),
                        "--disable-pip-version-check".into(),
                        format!("{name}=={version}"),
                    ],
                )?;
                restored.push(format!("{name}=={version}"));
            }
        }
        let changed: Vec<String> = after
            .iter()
            .filter(|(n, v)| before.get(*n) != Some(*v) && !ctx.cfg.analysis.is_protected(n))
            .map(|(n, v)| match before.get(n) {
                Some(old) => format!("{n} {old} -> {v}"),
                None => format!("{n} {v}"),
            })
            .collect();
        if changed.is_empty() && restored.is_empty() {
            return Err(na(format!(
                "installing the staged requirements changed nothing; `{module}` is not provided by them"
            )));
        }
        let pinned = before
            .keys()
            .filter(|n| ctx.cfg.analysis.is_protected(n))
            .count();
        let mut summary = format!(
            "missing module `{module}`: installed the staged requirements.txt with {pinned} protected package(s) pinned; changed: {}",
            if changed.is_empty() {
                "none".to_owned()
            } else {
                changed.join(", ")
            }
        );
        if !restored.is_empty() {
            summary.push_str(&format!("; reinstalled {}", restored.join(", ")));
        }
        Ok(Some(AppliedFix {
            strategy: StrategyKind::PythonDeps,
            summary,
            files: Vec::new(),
            commit_message: format!("fix(baseline): install requirements for {module}"),
            reduced: None,
        }))
    }
}
