//! Owns rolling an update back: a promotion in progress is undone path by
//! path from its record, temporary refs are dropped, the staged tree is
//! discarded, the live
//! wrapper is checked against the backup (HEAD, branch, every uncommitted
//! file's bytes, the upstream checkout's HEAD) with every difference
//! reported, and protected Python packages whose version changed since the
//! backup's `pip freeze` are reinstalled at their old version.

use std::collections::BTreeMap;

use serde::Serialize;

use super::backup::{Backup, scan_dirty};
use super::error::{UpdateError, git_err, io_err};
use super::git_ops::{head_of, open_here};
use super::journal::{Journal, JournalState};
use super::moves::{Direction, Settler, drop_tether_refs};
use super::promote::drop_all_refs;
use super::record::interrupted_record;
use crate::config::Config;
use crate::failpoint;
use crate::python_env::{self as pip, PipFreeze};
use crate::state::StateDir;

/// What a rollback did and found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RollbackReport {
    /// Whether a staged tree was there to discard.
    pub discarded: bool,
    /// How the live wrapper differs from the backup (empty: identical).
    pub differences: Vec<String>,
    /// Packages put back (`name==version`).
    pub reinstalled: Vec<String>,
    /// Things worth knowing (pip unavailable, a package added, ...).
    pub notes: Vec<String>,
}

/// Rolls the journal's update back and journals `RolledBack` with `reason`.
/// The journal is not archived.
pub fn rollback(
    cfg: &Config,
    journal: &mut Journal,
    state: &StateDir,
    reason: &str,
) -> Result<RollbackReport, UpdateError> {
    if journal.state == JournalState::Promoting {
        // the live trees may be partly moved: put every path back by the
        // plan before anything else (an error leaves the journal for the
        // next command's recovery)
        let record = interrupted_record(state, cfg, journal)?;
        record.apply(Direction::Backward, Settler::Recovery)?;
        drop_all_refs(&record.trees);
    }
    // refs a promotion fetched into before the crash
    drop_tether_refs(&journal.live_root);
    for m in journal.members() {
        if let Some(up) = cfg.upstreams.iter().find(|u| u.name == m.upstream) {
            drop_tether_refs(&journal.live_root.join(&up.path));
        }
    }
    let mut report = RollbackReport {
        discarded: discard_staged(journal)?,
        ..RollbackReport::default()
    };
    failpoint::hit("rollback.discarded");
    match Backup::load(&journal.backup_dir) {
        Ok(backup) => {
            report.differences = verify_live_unchanged(&backup)?;
            let (reinstalled, notes) = restore_packages(cfg, &backup);
            report.reinstalled = reinstalled;
            report.notes.extend(notes);
        }
        Err(UpdateError::NoBackup { path }) => report.notes.push(format!(
            "no backup at `{}`; the live wrapper could not be checked",
            path.display()
        )),
        Err(e) => return Err(e),
    }
    for d in &report.differences {
        tracing::warn!(difference = %d, "live wrapper differs from the backup");
    }
    journal.advance(state, JournalState::RolledBack, Some(reason.to_owned()))?;
    failpoint::hit("rollback.journaled");
    Ok(report)
}

/// Removes the staged tree; `false` when there was none.
pub fn discard_staged(journal: &Journal) -> Result<bool, UpdateError> {
    let dir = &journal.staged_dir;
    if dir.symlink_metadata().is_err() {
        return Ok(false);
    }
    fs_err::remove_dir_all(dir).map_err(io_err("remove the staged tree", dir))?;
    Ok(true)
}

/// Compares the live wrapper with the backup: HEAD, branch, every dirty or
/// untracked file's bytes (and files that became dirty since), and the
/// upstream checkout's HEAD. Returns the differences, in words.
pub fn verify_live_unchanged(backup: &Backup) -> Result<Vec<String>, UpdateError> {
    let root = &backup.wrapper_root;
    let repo = open_here(root).map_err(git_err("opening the live wrapper", root))?;
    let mut out = Vec::new();
    let (head, branch) = head_of(&repo, root)?;
    if head.to_string() != backup.head {
        out.push(format!("HEAD is {head}, was {}", backup.head));
    }
    if branch != backup.branch {
        out.push(format!(
            "the checked-out branch is {}, was {}",
            branch.as_deref().unwrap_or("none (detached)"),
            backup.branch.as_deref().unwrap_or("none (detached)")
        ));
    }
    let now: BTreeMap<String, _> = scan_dirty(&repo, root)?
        .into_iter()
        .map(|d| (d.path.clone(), d))
        .collect();
    for before in &backup.dirty {
        match now.get(&before.path) {
            None => out.push(format!(
                "`{}` was {} and is now clean (its uncommitted change is gone)",
                before.path, before.status
            )),
            Some(after) if after.blob != before.blob || after.symlink != before.symlink => out
                .push(format!(
                    "`{}` ({}) has other bytes than in the backup",
                    before.path, before.status
                )),
            Some(after) if after.mode != before.mode => out.push(format!(
                "`{}` changed mode from {:o} to {:o}",
                before.path,
                before.mode.unwrap_or(0),
                after.mode.unwrap_or(0)
            )),
            Some(_) => {}
        }
    }
    let known: std::collections::BTreeSet<&str> =
        backup.dirty.iter().map(|d| d.path.as_str()).collect();
    for (path, after) in &now {
        if !known.contains(path.as_str()) {
            out.push(format!("`{path}` is {} but was clean", after.status));
        }
    }
    for m in backup.members() {
        let Some(expected) = &m.upstream_checkout else {
            continue;
        };
        let path = root.join(&m.upstream_path);
        let found = open_here(&path)
            .ok()
            .and_then(|r| r.head().ok().and_then(|h| h.target()))
            .map(|id| id.to_string());
        if found.as_deref() != Some(expected.as_str()) {
            out.push(format!(
                "upstream checkout {} is at {}, was {expected}",
                path.display(),
                found.as_deref().unwrap_or("nothing (not checked out)")
            ));
        }
    }
    Ok(out)
}

/// Reinstalls every protected package whose `pip freeze` line differs from
/// the backup's. Returns the specs reinstalled and notes; never fails.
pub fn restore_packages(cfg: &Config, backup: &Backup) -> (Vec<String>, Vec<String>) {
    let mut notes = Vec::new();
    let Some(before) = backup.pip.packages() else {
        if let PipFreeze::Unavailable { reason } = &backup.pip {
            notes.push(format!(
                "packages not checked: the backup has no pip freeze ({reason})"
            ));
        }
        return (Vec::new(), notes);
    };
    let log_dir = backup.dir.join("rollback");
    let now = pip::freeze(&cfg.project.python, &backup.wrapper_root, &log_dir);
    let Some(now) = now.packages() else {
        if let PipFreeze::Unavailable { reason } = &now {
            notes.push(format!("packages not checked: {reason}"));
        }
        return (Vec::new(), notes);
    };
    let specs = changed_protected(cfg, before, now, &mut notes);
    if specs.is_empty() {
        return (specs, notes);
    }
    match pip::install(&cfg.project.python, &backup.wrapper_root, &log_dir, &specs) {
        Ok(()) => (specs, notes),
        Err(e) => {
            notes.push(format!(
                "could not reinstall {}: {e} (logs in {})",
                specs.join(", "),
                log_dir.display()
            ));
            (Vec::new(), notes)
        }
    }
}

/// The backed-up freeze lines of protected packages that changed.
fn changed_protected(
    cfg: &Config,
    before: &BTreeMap<String, String>,
    now: &BTreeMap<String, String>,
    notes: &mut Vec<String>,
) -> Vec<String> {
    let mut specs = Vec::new();
    for (name, line) in before {
        if !cfg.analysis.is_protected(name) || now.get(name) == Some(line) {
            continue;
        }
        if line.contains("==") || line.contains(" @ ") {
            specs.push(line.clone());
        } else {
            notes.push(format!(
                "`{line}` changed but cannot be reinstalled from its freeze line"
            ));
        }
    }
    for (name, line) in now {
        if cfg.analysis.is_protected(name) && !before.contains_key(name) {
            notes.push(format!(
                "protected package `{line}` was installed during the update; uninstall it by hand if unwanted"
            ));
        }
    }
    specs
}
