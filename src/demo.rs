//! The demo project behind `tether demo`: a Wan2GP-like upstream that writes
//! real (tiny) videos, a headless wrapper embedding it as a submodule, and a
//! `tether.toml` with three baseline cases. The upstream's later commits break
//! the wrapper three ways (a renamed keyword, a renamed model config, more
//! memory per frame), so `tether update` has something to repair.
//!
//! The project is built by `scripts/demo_project.py` (embedded here, standard
//! library only) run with the project's Python interpreter. `comfy` builds
//! the ComfyUI-shaped stack the same way (`scripts/demo_comfy.py`).

pub mod comfy;

pub use comfy::{COMFY_SCRIPT, DemoMember, DemoStack, create_stack};

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;

/// The generator script, as shipped in `scripts/demo_project.py`.
pub const SCRIPT: &str = include_str!("../scripts/demo_project.py");

/// A demo project on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoProject {
    /// The folder holding `tether.toml`, `upstream/` and `wrapper/` (absolute).
    pub root: PathBuf,
    /// `root/tether.toml`.
    pub config_path: PathBuf,
    /// The upstream git repository (`root/upstream`), the config's upstream URL.
    pub upstream: PathBuf,
    /// The wrapper git repository (`root/wrapper`), the config's project root.
    pub wrapper: PathBuf,
    /// The upstream commit the wrapper's submodule is checked out at.
    pub base: String,
    /// Every upstream commit, oldest first (the first is `base`).
    pub commits: Vec<DemoCommit>,
}

/// One commit of the demo upstream.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DemoCommit {
    pub hash: String,
    /// `base`, `harmless`, or `break: <what it breaks>`.
    pub kind: String,
    pub subject: String,
}

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("cannot create the demo in {}: it exists and is not an empty folder", dir.display())]
    NotEmpty { dir: PathBuf },
    #[error("cannot resolve the demo folder {}: {source}", dir.display())]
    Path {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("could not run `{python}` to build the demo project: {source}")]
    Spawn {
        python: String,
        source: std::io::Error,
    },
    #[error("building the demo project in {} with `{python}` failed ({status}):\n{stderr}", dir.display())]
    Failed {
        dir: PathBuf,
        python: String,
        status: String,
        stderr: String,
    },
    #[error("the demo generator printed an unreadable summary: {source}\n{stdout}")]
    Summary {
        stdout: String,
        source: serde_json::Error,
    },
}

#[derive(Deserialize)]
struct Summary {
    root: PathBuf,
    config: PathBuf,
    upstream: PathBuf,
    wrapper: PathBuf,
    base: String,
    commits: Vec<DemoCommit>,
}

/// Builds the demo project in `dir` (created if missing; must be empty) by
/// running the embedded generator with `python`. The config's `project.python`
/// is that interpreter's `sys.executable`.
pub fn create(dir: &Path, python: &str) -> Result<DemoProject, DemoError> {
    let summary: Summary = run_generator(dir, python, SCRIPT)?;
    Ok(DemoProject {
        root: summary.root,
        config_path: summary.config,
        upstream: summary.upstream,
        wrapper: summary.wrapper,
        base: summary.base,
        commits: summary.commits,
    })
}

/// Runs a generator `script` with `python` into `dir` (absolute, empty) and
/// reads the JSON summary it prints.
fn run_generator<T: serde::de::DeserializeOwned>(
    dir: &Path,
    python: &str,
    script: &str,
) -> Result<T, DemoError> {
    let dir = std::path::absolute(dir).map_err(|source| DemoError::Path {
        dir: dir.to_owned(),
        source,
    })?;
    if dir.exists() {
        let empty = dir.is_dir()
            && fs_err::read_dir(&dir)
                .map_err(|source| DemoError::Path {
                    dir: dir.clone(),
                    source,
                })?
                .next()
                .is_none();
        if !empty {
            return Err(DemoError::NotEmpty { dir });
        }
    }
    tracing::debug!(dir = %dir.display(), python, "building the demo project");
    let out = Command::new(python)
        .arg("-c")
        .arg(script)
        .arg(&dir)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|source| DemoError::Spawn {
            python: python.to_owned(),
            source,
        })?;
    if !out.status.success() {
        return Err(DemoError::Failed {
            dir,
            python: python.to_owned(),
            status: out.status.to_string(),
            stderr: tail(&String::from_utf8_lossy(&out.stderr), 4000),
        });
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(stdout.trim()).map_err(|source| DemoError::Summary {
        stdout: tail(&stdout, 4000),
        source,
    })
}

/// The last `max` bytes of `text` (at a char boundary).
fn tail(text: &str, max: usize) -> String {
    let text = text.trim_end();
    if text.len() <= max {
        return text.to_owned();
    }
    let mut start = text.len() - max;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    format!("...{}", &text[start..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_keeps_the_end_at_a_char_boundary() {
        assert_eq!(tail("short\n", 10), "short");
        assert_eq!(tail("abcdef", 3), "...def");
        assert_eq!(tail("aé", 1), "...");
    }

    #[test]
    fn script_is_embedded() {
        assert!(SCRIPT.contains("def build_upstream"));
    }
}
