//! The wrapper's Python: the interpreter and its version, torch and its CUDA
//! as that interpreter reports them, `pip check`, and the protected packages
//! against what was installed at the last good run
//! (`<state>/service/protected_packages.json`, written when a baseline
//! passes or an update is promoted).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::process::{self, ProcessSpec};
use crate::python_env::{PipFreeze, good_packages_path};

const TIMEOUT: Duration = Duration::from_secs(120);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PythonInfo {
    pub interpreter: String,
    pub version: Option<String>,
    /// torch's version, its CUDA build and whether it sees a GPU, as the
    /// wrapper's interpreter reports them; the reason when it cannot. In
    /// JSON `{"status": "ok", "version", "cuda", "cuda_available"}` or
    /// `{"status": "error", "error"}`.
    #[serde(with = "super::json_shape::torch")]
    pub torch: Result<TorchView, String>,
    /// `pip check`: `Ok` with nothing broken, else the problems it lists.
    /// In JSON `{"passed": bool, "problems": [..]}`.
    #[serde(with = "super::json_shape::pip_check")]
    pub pip_check: Result<(), Vec<String>>,
    /// Protected packages now (name -> freeze line).
    pub protected: BTreeMap<String, String>,
    /// Protected packages that changed since the last good run; `None` when
    /// no good run was recorded yet.
    pub changed_since_good: Option<Vec<ProtectedPackageChange>>,
    /// Why the installed packages could not be listed, when so.
    pub freeze_unavailable: Option<String>,
}

/// A protected package's freeze line at the last good run and now (`None`:
/// not installed): `{"name", "then", "now"}` in JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProtectedPackageChange {
    pub name: String,
    pub then: Option<String>,
    pub now: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TorchView {
    pub version: String,
    pub cuda: Option<String>,
    pub cuda_available: bool,
}

pub fn read(cfg: &Config, dir: &Path) -> PythonInfo {
    let python = cfg.project.python.clone();
    let version = run(
        &python,
        &["-c", "import sys; print(sys.version.split()[0])"],
        dir,
        "version",
    )
    .ok()
    .map(|s| s.trim().to_owned());
    let torch = run(
        &python,
        &[
            "-c",
            "import torch; print(torch.__version__); print(torch.version.cuda or ''); print(torch.cuda.is_available())",
        ],
        dir,
        "torch",
    )
    .map(|out| {
        let mut l = out.lines();
        TorchView {
            version: l.next().unwrap_or_default().trim().to_owned(),
            cuda: l.next().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned),
            cuda_available: l.next().is_some_and(|s| s.trim() == "True"),
        }
    });
    let pip_check = match run(&python, &["-m", "pip", "check"], dir, "pip-check") {
        Ok(_) => Ok(()),
        Err(out) => Err(out
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect()),
    };
    let freeze = crate::python_env::freeze(&python, &cfg.project.root, dir);
    let protected: BTreeMap<String, String> = freeze
        .packages()
        .map(|p| {
            p.iter()
                .filter(|(name, _)| cfg.analysis.is_protected(name))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default();
    let good: Option<BTreeMap<String, String>> = crate::state::read_json(&good_packages_path(cfg))
        .ok()
        .flatten();
    let changed_since_good = good.map(|then| {
        let names: std::collections::BTreeSet<&String> =
            then.keys().chain(protected.keys()).collect();
        names
            .into_iter()
            .filter(|n| then.get(*n) != protected.get(*n))
            .map(|n| ProtectedPackageChange {
                name: (*n).clone(),
                then: then.get(n).cloned(),
                now: protected.get(n).cloned(),
            })
            .collect()
    });
    PythonInfo {
        interpreter: python,
        version,
        torch: torch.map_err(|e| last_line(&e)),
        pip_check,
        protected,
        changed_since_good,
        freeze_unavailable: match freeze {
            PipFreeze::Unavailable { reason } => Some(reason),
            PipFreeze::Frozen { .. } => None,
        },
    }
}

/// Runs `python args` and returns stdout, or stdout+stderr when it failed.
fn run(python: &str, args: &[&str], dir: &Path, name: &str) -> Result<String, String> {
    let mut argv = vec![python.to_owned()];
    argv.extend(args.iter().map(|a| (*a).to_owned()));
    let stdout = dir.join(format!("{name}.stdout.log"));
    let spec = ProcessSpec {
        argv,
        cwd: dir.to_path_buf(),
        env: vec![("PIP_DISABLE_PIP_VERSION_CHECK".into(), "1".into())],
        timeout: TIMEOUT,
        grace: Duration::from_secs(5),
        stdout_path: stdout.clone(),
        stderr_path: dir.join(format!("{name}.stderr.log")),
        max_log_bytes: 1024 * 1024,
        cancel: None,
    };
    let _ = crate::state::create_private_dir(dir);
    let outcome = process::run(&spec, &mut || {}).map_err(|e| e.to_string())?;
    let out = fs_err::read_to_string(&stdout).unwrap_or_default();
    if outcome.exit.success() {
        Ok(out)
    } else {
        Err(format!("{out}{}", outcome.stderr_tail))
    }
}

fn last_line(text: &str) -> String {
    text.trim()
        .lines()
        .last()
        .unwrap_or("no output")
        .trim()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_package_change_is_an_object_with_named_fields() {
        let change = ProtectedPackageChange {
            name: "torch".into(),
            then: Some("torch==2.4.0".into()),
            now: None,
        };
        let json = serde_json::to_value(&change).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"name": "torch", "then": "torch==2.4.0", "now": null})
        );
        assert_eq!(
            serde_json::from_value::<ProtectedPackageChange>(json).unwrap(),
            change
        );
    }
}
