//! Runs the real `tether` binary as a child process.

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Tether {
    pub cwd: PathBuf,
    /// Fixed "now" (seconds since the epoch) for soak and timestamps.
    pub now: Option<i64>,
}

pub struct TetherOutput {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl TetherOutput {
    #[track_caller]
    pub fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code, code,
            "unexpected exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

impl Tether {
    pub fn new(cwd: impl Into<PathBuf>) -> Self {
        Self {
            cwd: cwd.into(),
            now: Some(super::git::EPOCH + 365 * 24 * 3600),
        }
    }

    pub fn cmd(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_tether"));
        c.current_dir(&self.cwd)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("NO_COLOR", "1")
            .env_remove("TETHER_CONFIG")
            .env_remove("TETHER_LOG")
            .env_remove("TETHER_GPU_WORKER");
        if let Some(now) = self.now {
            c.env("TETHER_NOW", now.to_string());
        }
        c
    }

    pub fn run(&self, args: &[&str]) -> TetherOutput {
        let out = self.cmd().args(args).output().expect("tether runs");
        TetherOutput {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        Path::new(&self.cwd).join(rel)
    }
}
