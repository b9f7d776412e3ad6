//! Owns the two pip calls an update makes: `{python} -m pip freeze` (what is
//! installed, for the backup) and `{python} -m pip install <pins>` (putting
//! protected packages back on rollback). Both run through
//! [`crate::process::run`] with their output logged to files.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::normalize_package;
use crate::process::{ProcessSpec, run};

const FREEZE_TIMEOUT: Duration = Duration::from_secs(300);
const INSTALL_TIMEOUT: Duration = Duration::from_secs(3600);
const GRACE: Duration = Duration::from_secs(10);
const MAX_LOG: u64 = 8 * 1024 * 1024;

/// What `pip freeze` said, or why it could not be asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PipFreeze {
    /// Normalised package name -> its freeze line (`torch==2.6.0`,
    /// `pkg @ file:///...`).
    Frozen {
        packages: BTreeMap<String, String>,
    },
    Unavailable {
        reason: String,
    },
}

impl PipFreeze {
    pub fn packages(&self) -> Option<&BTreeMap<String, String>> {
        match self {
            PipFreeze::Frozen { packages } => Some(packages),
            PipFreeze::Unavailable { .. } => None,
        }
    }
}

/// Runs `{python} -m pip freeze` in `cwd`, logging to `log_dir/pip-freeze.*`.
/// Never fails: a missing interpreter or pip is recorded as unavailable.
pub fn freeze(python: &str, cwd: &Path, log_dir: &Path) -> PipFreeze {
    let stdout = log_dir.join("pip-freeze.stdout.log");
    let spec = ProcessSpec {
        argv: vec![python.into(), "-m".into(), "pip".into(), "freeze".into()],
        cwd: cwd.to_path_buf(),
        env: vec![("PIP_DISABLE_PIP_VERSION_CHECK".into(), "1".into())],
        timeout: FREEZE_TIMEOUT,
        grace: GRACE,
        stdout_path: stdout.clone(),
        stderr_path: log_dir.join("pip-freeze.stderr.log"),
        max_log_bytes: MAX_LOG,
        cancel: None,
    };
    let outcome = match run(&spec, &mut || {}) {
        Ok(o) => o,
        Err(e) => {
            return PipFreeze::Unavailable {
                reason: format!("cannot run `{python} -m pip freeze`: {e}"),
            };
        }
    };
    if !outcome.exit.success() {
        let tail = outcome.stderr_tail.trim();
        let last = tail.lines().last().unwrap_or("no output");
        return PipFreeze::Unavailable {
            reason: format!("`{python} -m pip freeze` failed ({}): {last}", outcome.exit),
        };
    }
    match fs_err::read_to_string(&stdout) {
        Ok(text) => PipFreeze::Frozen {
            packages: parse_freeze(&text),
        },
        Err(e) => PipFreeze::Unavailable {
            reason: format!("cannot read pip freeze output: {e}"),
        },
    }
}

/// Runs `{python} -m pip install <specs>` in `cwd`; `Err` holds why it failed.
pub fn install(python: &str, cwd: &Path, log_dir: &Path, specs: &[String]) -> Result<(), String> {
    let mut argv = vec![
        python.to_owned(),
        "-m".into(),
        "pip".into(),
        "install".into(),
    ];
    argv.extend(specs.iter().cloned());
    let spec = ProcessSpec {
        argv,
        cwd: cwd.to_path_buf(),
        env: vec![("PIP_DISABLE_PIP_VERSION_CHECK".into(), "1".into())],
        timeout: INSTALL_TIMEOUT,
        grace: GRACE,
        stdout_path: log_dir.join("pip-install.stdout.log"),
        stderr_path: log_dir.join("pip-install.stderr.log"),
        max_log_bytes: MAX_LOG,
        cancel: None,
    };
    let outcome = run(&spec, &mut || {}).map_err(|e| e.to_string())?;
    if outcome.exit.success() {
        Ok(())
    } else {
        let tail = outcome.stderr_tail.trim();
        Err(format!(
            "pip install {} failed ({}): {}",
            specs.join(" "),
            outcome.exit,
            tail.lines().last().unwrap_or("no output")
        ))
    }
}

/// Parses `pip freeze` output: one package per line, comments and options
/// skipped, editable installs (`-e`) kept by their project name when known.
pub fn parse_freeze(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || line.starts_with('-') {
            continue;
        }
        let name = line
            .split(['=', '@', ' ', '<', '>'])
            .next()
            .unwrap_or(line)
            .trim();
        if name.is_empty() {
            continue;
        }
        out.insert(normalize_package(name), line.to_owned());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_freeze_lines() {
        let m = parse_freeze(
            "# comment\nTorch==2.6.0\n-e git+https://x/y#egg=z\nmy_pkg @ file:///tmp/p\n\n",
        );
        assert_eq!(m.len(), 2);
        assert_eq!(m["torch"], "Torch==2.6.0");
        assert_eq!(m["my-pkg"], "my_pkg @ file:///tmp/p");
    }
}
