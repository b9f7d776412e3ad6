//! The effective baseline cases: the config's cases with the overrides a fix
//! recorded in the wrapper's overrides file (`baseline.overrides_file`,
//! `{"format_version":1,"cases":{"<case>":{"model":"..","params":{..},
//! "targets":{"<target>":{"params":{..}}}}}}`), each slurm case once per
//! `[[slurm.target]]` (the hardware matrix).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Map, Value};

use super::BaselineError;
use crate::config::Config;

const OVERRIDES_VERSION: u32 = 1;

/// One case as it runs: config values with overrides applied.
#[derive(Debug, Clone, PartialEq)]
pub struct EffectiveCase {
    pub name: String,
    pub model: String,
    /// The command template (the case's own, else `[baseline] command`).
    pub command: String,
    pub timeout: Duration,
    pub outputs: Vec<String>,
    pub params: Map<String, Value>,
    /// The case's regression limits (its own over `[baseline]`'s).
    pub thresholds: crate::config::Thresholds,
    /// A TorchScript canary instead of a command.
    pub canary: Option<crate::config::CanaryConfig>,
    /// Where the case runs (its own, else `[baseline] executor`).
    pub executor: crate::config::Executor,
    /// The `[[slurm.target]]` this copy of the case runs on.
    pub target: Option<String>,
}

impl EffectiveCase {
    /// The case's folder name: `<case>`, or `<case>@<target>` in a matrix.
    pub fn dir_name(&self) -> String {
        dir_name(&self.name, self.target.as_deref())
    }
}

/// `<case>`, or `<case>@<target>`: a case's folder and label in a matrix.
pub fn dir_name(case: &str, target: Option<&str>) -> String {
    match target {
        Some(t) => format!("{case}@{t}"),
        None => case.to_owned(),
    }
}

/// What the overrides file changes for one case.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseOverride {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, Value>,
    /// Changes for one `[[slurm.target]]` only (over `params`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub targets: BTreeMap<String, TargetOverride>,
}

/// What the overrides file changes for a case on one target.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetOverride {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, Value>,
}

/// The wrapper's overrides file, in memory.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overrides {
    pub cases: BTreeMap<String, CaseOverride>,
}

#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct OverridesFile {
    format_version: u32,
    #[serde(default)]
    cases: BTreeMap<String, CaseOverride>,
}

impl Overrides {
    /// The overrides file of the tree `tree`.
    pub fn path(tree: &Path, cfg: &Config) -> PathBuf {
        tree.join(&cfg.baseline.overrides_file)
    }

    /// Reads the tree's overrides file; a missing file is no overrides.
    pub fn load(tree: &Path, cfg: &Config) -> Result<Overrides, BaselineError> {
        let path = Self::path(tree, cfg);
        let text = match fs_err::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Overrides::default()),
            Err(source) => return Err(BaselineError::OverridesRead { path, source }),
        };
        let invalid = |message: String| BaselineError::OverridesInvalid {
            path: path.clone(),
            message,
        };
        let file: OverridesFile =
            serde_json::from_str(&text).map_err(|e| invalid(e.to_string()))?;
        if file.format_version != OVERRIDES_VERSION {
            return Err(invalid(format!(
                "format_version {} is not supported (expected {OVERRIDES_VERSION})",
                file.format_version
            )));
        }
        Ok(Overrides { cases: file.cases })
    }

    /// Sets one parameter of a case.
    pub fn set_param(&mut self, case: &str, key: &str, value: Value) {
        self.cases
            .entry(case.to_owned())
            .or_default()
            .params
            .insert(key.to_owned(), value);
    }

    /// Sets one parameter of a case on one target only.
    pub fn set_target_param(&mut self, case: &str, target: &str, key: &str, value: Value) {
        self.cases
            .entry(case.to_owned())
            .or_default()
            .targets
            .entry(target.to_owned())
            .or_default()
            .params
            .insert(key.to_owned(), value);
    }

    /// Sets the model of a case.
    pub fn set_model(&mut self, case: &str, model: &str) {
        self.cases.entry(case.to_owned()).or_default().model = Some(model.to_owned());
    }

    pub fn get(&self, case: &str) -> Option<&CaseOverride> {
        self.cases.get(case)
    }

    /// Writes the overrides file (pretty JSON, keys sorted) atomically and
    /// returns its path.
    pub fn save(&self, tree: &Path, cfg: &Config) -> Result<PathBuf, BaselineError> {
        let path = Self::path(tree, cfg);
        let file = OverridesFile {
            format_version: OVERRIDES_VERSION,
            cases: self.cases.clone(),
        };
        let mut text = serde_json::to_string_pretty(&file).map_err(|e| BaselineError::Write {
            path: path.clone(),
            source: std::io::Error::other(e),
        })?;
        text.push('\n');
        crate::state::write_atomic_shared(&path, text.as_bytes()).map_err(|source| {
            BaselineError::Write {
                path: path.clone(),
                source,
            }
        })?;
        Ok(path)
    }
}

/// The config's cases with `overrides` applied, in config order; a slurm
/// case once per `[[slurm.target]]`, with that target's overrides.
pub fn effective_cases(cfg: &Config, overrides: &Overrides) -> Vec<EffectiveCase> {
    let mut out = Vec::new();
    for case in configured_cases(cfg, overrides) {
        if case.executor != crate::config::Executor::Slurm || cfg.slurm.targets.is_empty() {
            out.push(case);
            continue;
        }
        for t in &cfg.slurm.targets {
            let mut c = case.clone();
            if let Some(o) = overrides.get(&c.name).and_then(|o| o.targets.get(&t.name)) {
                for (k, v) in &o.params {
                    c.params.insert(k.clone(), v.clone());
                }
            }
            c.target = Some(t.name.clone());
            out.push(c);
        }
    }
    out
}

/// The config's cases with the case-wide overrides applied.
fn configured_cases(cfg: &Config, overrides: &Overrides) -> Vec<EffectiveCase> {
    for name in overrides.cases.keys() {
        if !cfg.baseline.cases.iter().any(|c| &c.name == name) {
            tracing::warn!(case = %name, "overrides file names a case the config does not have; ignored");
        }
    }
    cfg.baseline
        .cases
        .iter()
        .map(|c| {
            let mut model = c.model.clone();
            let mut params = c.params.clone();
            if let Some(o) = overrides.get(&c.name) {
                if let Some(m) = &o.model {
                    model = m.clone();
                }
                for (k, v) in &o.params {
                    params.insert(k.clone(), v.clone());
                }
            }
            EffectiveCase {
                name: c.name.clone(),
                model,
                command: c
                    .command
                    .clone()
                    .unwrap_or_else(|| cfg.baseline.command.clone()),
                timeout: c.timeout.unwrap_or(cfg.baseline.timeout),
                outputs: c.outputs.clone(),
                params,
                thresholds: c.thresholds.apply(cfg.baseline.thresholds),
                canary: c.canary.clone(),
                executor: c.executor.unwrap_or(cfg.baseline.executor),
                target: None,
            }
        })
        .collect()
}
