//! The pinned layout's staging: the upstream materialised at
//! `<staged>/<path>` from tether's mirror, exactly the pin's bytes in the
//! record file rewritten to the target (nothing else in the file changes),
//! the rewrite committed, then the upstream's `install` command (the app's
//! own install step) run in the staged wrapper's root.

use std::path::Path;
use std::time::Duration;

use git2::{Oid, Repository};

use super::{StageOutcome, clone_upstream, commit_index, rel_str};
use crate::config::{Config, InstallCommand, UpstreamConfig};
use crate::process::{ProcessSpec, run};
use crate::state::StateDir;
use crate::update::error::{UpdateError, git_err, io_err};
use crate::update::journal::UpdatePaths;
use crate::upstream::{Mirror, locate_pin};

const GRACE: Duration = Duration::from_secs(5);
const MAX_LOG: u64 = 8 << 20;

/// What a pinned upstream is staged at.
pub(super) struct PinStep<'a> {
    pub(super) target: Oid,
    /// The staging commit's message.
    pub(super) message: &'a str,
    /// The update's id (its run folder holds the install logs).
    pub(super) update_id: &'a str,
}

/// Stages a pinned upstream at `step.target` in the staged clone `repo` at
/// `dir`.
pub(super) fn pinned(
    cfg: &Config,
    up: &UpstreamConfig,
    mirror: &Mirror,
    repo: &Repository,
    dir: &Path,
    step: &PinStep<'_>,
) -> Result<StageOutcome, UpdateError> {
    let PinStep {
        target,
        message,
        update_id: id,
    } = *step;
    clone_upstream(mirror, &dir.join(&up.path), target)?;
    let rel = rel_str(&up.record_file);
    let path = dir.join(&up.record_file);
    let bytes = fs_err::read(&path).map_err(io_err("read the pin file", &path))?;
    let text = String::from_utf8(bytes).map_err(|e| UpdateError::Record {
        upstream: up.name.clone(),
        path: path.clone(),
        detail: format!("not UTF-8 text: {e}"),
    })?;
    let site = locate_pin(up, &text)?;
    let new = new_pin(mirror.repo(), target, &site.hash);
    let outcome = if new == site.hash {
        StageOutcome::NothingToCommit
    } else {
        let mut out = String::with_capacity(text.len() + new.len());
        out.push_str(&text[..site.range.start]);
        out.push_str(&new);
        out.push_str(&text[site.range.end..]);
        fs_err::write(&path, out).map_err(io_err("write the pin file", &path))?;
        let mut index = repo.index().map_err(git_err("reading the index", dir))?;
        index
            .add_path(Path::new(&rel))
            .map_err(git_err("adding the pin file", dir))?;
        commit_index(cfg, repo, dir, &mut index, message, vec![rel])?
    };
    if let Some(install) = &up.install {
        let state = StateDir::new(&cfg.project.state_dir);
        let logs = UpdatePaths::new(&state).run_dir(id);
        run_install(up, install, dir, &logs)?;
    }
    Ok(outcome)
}

/// The pin for `target` as long as the old one (a full hash for a full
/// one), longer where that length names several commits; in the old pin's
/// case.
fn new_pin(repo: &Repository, target: Oid, old: &str) -> String {
    let hex = target.to_string();
    let upper = old.chars().any(|c| c.is_ascii_uppercase());
    let mut len = old.len().clamp(7, 40);
    while len < 40 {
        let unique = repo
            .revparse_single(&hex[..len])
            .and_then(|o| o.peel_to_commit())
            .is_ok_and(|c| c.id() == target);
        if unique {
            break;
        }
        len += 1;
    }
    let pin = &hex[..len];
    if upper {
        pin.to_ascii_uppercase()
    } else {
        pin.to_owned()
    }
}

/// Runs the install command through the shell in the staged wrapper's
/// root, its output (redacted) in `logs/install.{stdout,stderr}.log`.
fn run_install(
    up: &UpstreamConfig,
    install: &InstallCommand,
    dir: &Path,
    logs: &Path,
) -> Result<(), UpdateError> {
    crate::state::create_private_dir(logs).map_err(io_err("create the run folder", logs))?;
    let stdout = logs.join("install.stdout.log");
    let stderr = logs.join("install.stderr.log");
    let spec = ProcessSpec {
        argv: vec!["sh".into(), "-c".into(), install.command.clone()],
        cwd: dir.to_path_buf(),
        env: Vec::new(),
        timeout: install.timeout,
        grace: GRACE,
        stdout_path: stdout.clone(),
        stderr_path: stderr.clone(),
        max_log_bytes: MAX_LOG,
        cancel: None,
    };
    tracing::info!(upstream = %up.name, command = %install.command, "running the install command");
    let failed = |outcome: String| UpdateError::Install {
        upstream: up.name.clone(),
        command: install.command.clone(),
        log: stderr.clone(),
        outcome,
    };
    let outcome = run(&spec, &mut || {}).map_err(|e| failed(format!("cannot run it: {e}")))?;
    if outcome.exit.success() {
        return Ok(());
    }
    let tail = [outcome.stdout_tail.trim(), outcome.stderr_tail.trim()]
        .iter()
        .filter(|t| !t.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join("\n");
    let lines: Vec<&str> = tail.lines().collect();
    let tail = lines[lines.len().saturating_sub(20)..].join("\n");
    Err(failed(format!("{}; last output:\n{tail}", outcome.exit)))
}
