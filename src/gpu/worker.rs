//! Running the `tether-gpu` worker: finding its binary, running one command
//! of it as a child process (through [`crate::process`]: own process group,
//! timeout, logs to files) and reading the JSON response it writes. Every
//! way the worker can fail (missing, libtorch not loadable, crashed, hung,
//! garbled) is a [`WorkerError`] that says what to do; none brings tether down.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::de::DeserializeOwned;

use crate::process::{self, Exit, ProcessError, ProcessSpec};
use crate::protocol::{PROTOCOL_VERSION, Response};

/// The worker's file name.
pub const WORKER_NAME: &str = "tether-gpu";
const GRACE: Duration = Duration::from_secs(5);
const MAX_LOG_BYTES: u64 = 4 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error(
        "the tether-gpu worker was not found (looked at {looked}); build it with `cargo build --release` after `scripts/install-torch.sh`, or set `gpu.worker`"
    )]
    NotFound { looked: String },
    #[error(
        "the tether-gpu worker cannot load libtorch ({detail}); run `scripts/install-torch.sh` (it provides torch==2.11.0) and rebuild"
    )]
    Libtorch { detail: String },
    #[error("the tether-gpu worker timed out after {}", crate::duration::format(*.timeout))]
    TimedOut { timeout: Duration },
    #[error("the tether-gpu worker was cancelled")]
    Cancelled,
    #[error("the tether-gpu worker {exit} without a usable report{}", tail_suffix(.stderr_tail))]
    Crashed { exit: Exit, stderr_tail: String },
    #[error("the tether-gpu worker failed: {message}")]
    Failed { message: String },
    #[error(
        "the tether-gpu worker speaks protocol {got}, this tether {PROTOCOL_VERSION}; rebuild both from one checkout"
    )]
    Protocol { got: u32 },
    #[error("cannot run the tether-gpu worker")]
    Process(#[source] ProcessError),
    #[error("cannot write `{}`", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The telling part of a dead worker's stderr: a Rust panic's location and
/// message when there is one (not the backtrace after it), else the last
/// lines.
fn tail_suffix(tail: &str) -> String {
    let lines: Vec<&str> = tail.trim().lines().collect();
    if lines.is_empty() {
        return String::new();
    }
    if let Some(i) = lines.iter().rposition(|l| l.contains("panicked at")) {
        let end = (i + 2).min(lines.len());
        return format!("; it panicked:\n{}", lines[i..end].join("\n"));
    }
    let start = lines.len().saturating_sub(5);
    format!("; its stderr ends:\n{}", lines[start..].join("\n"))
}

/// A worker binary and how long one run of it may take.
#[derive(Debug, Clone)]
pub struct Worker {
    pub path: PathBuf,
    pub timeout: Duration,
}

impl Worker {
    /// Finds the worker: `TETHER_GPU_WORKER`, else `configured`, else next to
    /// the running executable (and its parent, for test binaries under
    /// `target/*/deps`), else on `PATH`.
    pub fn locate(configured: Option<&Path>, timeout: Duration) -> Result<Worker, WorkerError> {
        let mut looked = Vec::new();
        let env = crate::env::var_os(crate::env::TETHER_GPU_WORKER).map(PathBuf::from);
        let explicit = env.or_else(|| configured.map(Path::to_path_buf));
        if let Some(p) = explicit {
            if p.is_file() {
                return Ok(Worker { path: p, timeout });
            }
            return Err(WorkerError::NotFound {
                looked: format!("`{}`", p.display()),
            });
        }
        if let Ok(exe) = std::env::current_exe() {
            let dir = exe.parent().map(Path::to_path_buf);
            let candidates = dir
                .iter()
                .flat_map(|d| [Some(d.clone()), d.parent().map(Path::to_path_buf)])
                .flatten();
            for d in candidates {
                let p = d.join(WORKER_NAME);
                if p.is_file() {
                    return Ok(Worker { path: p, timeout });
                }
                looked.push(format!("`{}`", p.display()));
            }
        }
        if let Some(path) = crate::env::var_os(crate::env::PATH) {
            for d in std::env::split_paths(&path) {
                let p = d.join(WORKER_NAME);
                if p.is_file() {
                    return Ok(Worker { path: p, timeout });
                }
            }
        }
        looked.push("PATH".into());
        Err(WorkerError::NotFound {
            looked: looked.join(", "),
        })
    }

    /// Runs `tether-gpu <args> --out <dir>/<name>.json` with its logs in
    /// `<dir>/<name>.stdout.log` and `.stderr.log`, and returns the report.
    pub fn run<T: DeserializeOwned>(
        &self,
        args: &[String],
        dir: &Path,
        name: &str,
    ) -> Result<T, WorkerError> {
        crate::state::create_private_dir(dir).map_err(|source| WorkerError::Write {
            path: dir.to_path_buf(),
            source,
        })?;
        let out = dir.join(format!("{name}.json"));
        match fs_err::remove_file(&out) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(WorkerError::Write {
                    path: out,
                    source: e,
                });
            }
            _ => {}
        }
        let mut argv = vec![self.path.display().to_string()];
        argv.extend(args.iter().cloned());
        argv.push("--out".into());
        argv.push(out.display().to_string());
        let spec = ProcessSpec {
            argv,
            cwd: dir.to_path_buf(),
            env: Vec::new(),
            timeout: self.timeout,
            grace: GRACE,
            stdout_path: dir.join(format!("{name}.stdout.log")),
            stderr_path: dir.join(format!("{name}.stderr.log")),
            max_log_bytes: MAX_LOG_BYTES,
            cancel: None,
        };
        tracing::debug!(worker = %self.path.display(), ?args, "running the GPU worker");
        let outcome = process::run(&spec, &mut || {}).map_err(WorkerError::Process)?;
        match outcome.exit {
            Exit::TimedOut => {
                return Err(WorkerError::TimedOut {
                    timeout: self.timeout,
                });
            }
            Exit::Cancelled => return Err(WorkerError::Cancelled),
            _ => {}
        }
        let stderr = crate::redact::redact(&outcome.stderr_tail).into_owned();
        if let Some(detail) = loader_error(&stderr) {
            return Err(WorkerError::Libtorch { detail });
        }
        let crashed = || WorkerError::Crashed {
            exit: outcome.exit,
            stderr_tail: stderr.clone(),
        };
        let text = match fs_err::read_to_string(&out) {
            Ok(t) => t,
            Err(_) => return Err(crashed()),
        };
        let response: Response<T> = serde_json::from_str(&text).map_err(|_| crashed())?;
        match response {
            Response::Ok { protocol, .. } | Response::Error { protocol, .. }
                if protocol != PROTOCOL_VERSION =>
            {
                Err(WorkerError::Protocol { got: protocol })
            }
            Response::Ok { report, .. } => Ok(report),
            Response::Error { message, .. } => Err(WorkerError::Failed {
                message: crate::redact::redact(&message).into_owned(),
            }),
        }
    }
}

/// The dynamic loader's complaint, when the worker could not even start
/// because a shared library (libtorch, or one it needs) is missing.
fn loader_error(stderr: &str) -> Option<String> {
    stderr
        .lines()
        .find(|l| l.contains("error while loading shared libraries"))
        .map(|l| l.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_is_shown_without_its_backtrace() {
        let stderr = "thread 'main' panicked at src/main.rs:9:5:\nboom\nstack backtrace:\n   0: x\n   1: y\n";
        assert_eq!(
            tail_suffix(stderr),
            "; it panicked:\nthread 'main' panicked at src/main.rs:9:5:\nboom"
        );
        assert_eq!(tail_suffix("a\nb\n"), "; its stderr ends:\na\nb");
        assert_eq!(tail_suffix("  \n"), "");
    }

    #[test]
    fn loader_errors_are_recognised() {
        let e = "tether-gpu: error while loading shared libraries: libtorch_cpu.so: cannot open shared object file: No such file or directory\n";
        assert!(loader_error(e).unwrap().contains("libtorch_cpu.so"));
        assert_eq!(loader_error("thread 'main' panicked"), None);
    }

    #[test]
    fn a_missing_configured_worker_names_its_path() {
        let err = Worker::locate(
            Some(Path::new("/nonexistent/tether-gpu")),
            Duration::from_secs(1),
        );
        if crate::env::var_os(crate::env::TETHER_GPU_WORKER).is_none() {
            let msg = err.unwrap_err().to_string();
            assert!(msg.contains("/nonexistent/tether-gpu"), "{msg}");
            assert!(msg.contains("install-torch.sh"), "{msg}");
        }
    }
}
