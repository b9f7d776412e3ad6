//! Conflicts that staging left in the staged tree become work: the failure
//! class `local-mod-conflict` goes to the external fixer (when configured
//! and fixing is on), with the conflicting hunks, the base/ours/theirs
//! version of each file and the analysis; an attempt counts when no marker
//! is left and every Python file it touched parses, and its resolution is
//! committed on the staged branch. Otherwise the update pauses for a
//! person: the outcome names the staged tree and each file's marker lines.

use std::path::Path;

use git2::Oid;
use serde::Serialize;

use super::error::TransactionError;
use super::staged_run::StagedRun;
use super::transaction::Plan;
use super::update_report::{PausedFile, UpdateOutcome, UpdateReport};
use crate::config::StrategyKind;
use crate::fix::strategies::External;
use crate::fix::{
    AttemptRecord, AttemptResult, Failure, FailureClass, FixContext, FixError, NextAction, Strategy,
};
use crate::update::{
    ConflictFile, Journal, Staged, commit_resolution, conflict_versions, hunks_in, markers_left,
};

/// What `conflicts.json` (next to the fixer's context file) says of one file.
#[derive(Debug, Serialize)]
struct ConflictEntry {
    path: String,
    reason: String,
    /// `[start, end]` line ranges (1-based, inclusive) of the marker blocks.
    hunks: Vec<[usize; 2]>,
    /// The three versions written beside, relative to the context folder;
    /// `None` where that side has no such file.
    base: Option<String>,
    ours: Option<String>,
    theirs: Option<String>,
}

/// The staging commit's message (the same as a clean merge's).
pub(super) fn bump_message(upstream: &str, target: &str) -> String {
    format!("chore(upstream): bump {upstream} to {:.7}", target)
}

/// Tries the external fixer on the conflicts; `None` when it resolved them
/// (the resolution is committed), else the pause outcome.
pub(super) fn resolve(
    ctx: StagedRun<'_>,
    journal: &mut Journal,
    plan: &Plan<'_>,
    staged: &Staged,
    files: &[ConflictFile],
    report: &mut UpdateReport,
) -> Result<Option<UpdateOutcome>, TransactionError> {
    let cfg = ctx.cfg;
    let external = cfg.fix.external_command.is_some()
        && cfg.update.strategies.contains(&StrategyKind::External);
    let why = if plan.opts.no_fix {
        "fixing was turned off (--no-fix)".to_owned()
    } else if cfg.update.max_attempts == 0 {
        "the fix loop is off (update.max_attempts = 0)".to_owned()
    } else if !external {
        "no external fixer is configured to resolve them (fix.external_command)".to_owned()
    } else {
        let tries = cfg.update.max_attempts;
        for attempt in 1..=tries {
            let (record, resolved) = try_fixer(ctx, journal, plan, staged, files, attempt)?;
            let done = resolved.is_some();
            report.attempts.push(record);
            if let Some(commit) = resolved {
                journal.staged_head = Some(commit.clone());
                journal.save(&ctx.state())?;
                report.staged_commit = Some(commit);
                report.notes.push(format!(
                    "the external fixer resolved the conflicts in {} (attempt {attempt})",
                    files.len()
                ));
                return Ok(None);
            }
            debug_assert!(!done);
        }
        format!("the external fixer did not resolve them in {tries} attempt(s)")
    };
    Ok(Some(paused_outcome(ctx, staged, files, &why)?))
}

/// The pause: where the staged tree is and the marker lines of each file.
fn paused_outcome(
    ctx: StagedRun<'_>,
    staged: &Staged,
    files: &[ConflictFile],
    why: &str,
) -> Result<UpdateOutcome, TransactionError> {
    let paths: Vec<String> = files.iter().map(|f| f.path.clone()).collect();
    let markers = markers_left(ctx.backup, &staged.dir, &paths)?;
    let files: Vec<PausedFile> = files
        .iter()
        .map(|f| PausedFile {
            path: f.path.clone(),
            reason: f.reason.clone(),
            lines: markers
                .iter()
                .filter(|m| m.path == f.path)
                .map(|m| m.line)
                .collect(),
        })
        .collect();
    Ok(UpdateOutcome::Paused {
        reason: format!(
            "the wrapper's local modifications of the vendored copy conflict with the upstream change in {} file(s) ({}); {why}",
            files.len(),
            crate::text::cut_list(&paths, crate::text::MESSAGE_ITEMS)
        ),
        staged_dir: staged.dir.clone(),
        files,
    })
}

/// One attempt of the external fixer; the record and, when it resolved the
/// conflicts, the commit of the resolution.
fn try_fixer(
    ctx: StagedRun<'_>,
    journal: &Journal,
    plan: &Plan<'_>,
    staged: &Staged,
    files: &[ConflictFile],
    attempt: u32,
) -> Result<(AttemptRecord, Option<String>), TransactionError> {
    let dir = &staged.dir;
    let context_dir = plan
        .report_dir
        .join("conflict-attempts")
        .join(attempt.to_string());
    let failure = write_context(ctx, journal, staged, files, &context_dir)?;
    // the marked-up files, to put back when an attempt fails
    let marked: Vec<(String, Option<Vec<u8>>)> = files
        .iter()
        .map(|f| (f.path.clone(), fs_err::read(dir.join(&f.path)).ok()))
        .collect();
    let fix_ctx = FixContext {
        cfg: ctx.cfg,
        tree: dir,
        upstream_dir: &staged.upstream_dir,
        analysis: plan.analysis,
        attempt,
        context_dir: &context_dir,
    };
    let applied = External.apply(&fix_ctx, &failure);
    let (summary, changed, error) = match applied {
        Ok(Some(fix)) => (fix.summary, fix.files, None),
        Ok(None) => (
            "the external fixer changed nothing".to_owned(),
            Vec::new(),
            None,
        ),
        Err(e @ (FixError::NotApplicable { .. } | FixError::CommandFailed { .. })) => (
            "the external fixer failed".to_owned(),
            Vec::new(),
            Some(e.to_string()),
        ),
        Err(e) => return Err(e.into()),
    };
    let paths: Vec<String> = files.iter().map(|f| f.path.clone()).collect();
    let mut problems: Vec<String> = markers_left(ctx.backup, dir, &paths)?
        .iter()
        .map(|m| format!("conflict marker left at {}:{}", m.path, m.line))
        .collect();
    if problems.is_empty() {
        problems.extend(syntax_errors(dir, paths.iter().chain(&changed)));
    }
    let error = match (error, problems.is_empty()) {
        (Some(e), _) => Some(e),
        (None, false) => Some(crate::text::cut_list(&problems, crate::text::MESSAGE_ITEMS)),
        (None, true) => None,
    };
    let commit = if error.is_none() {
        let message = bump_message(&ctx.up.name, &journal.to);
        Some(commit_resolution(ctx.cfg, ctx.backup, dir, &message)?.0)
    } else {
        for (path, bytes) in &marked {
            if let Some(bytes) = bytes {
                let full = dir.join(path);
                fs_err::write(&full, bytes).map_err(FixError::io("put back", &full))?;
            }
        }
        None
    };
    let record = AttemptRecord {
        attempt,
        time: crate::env::now(),
        strategy: StrategyKind::External,
        failure,
        fix_applied: summary,
        files: changed,
        commit: commit.clone(),
        result: if commit.is_some() {
            AttemptResult::Success
        } else {
            AttemptResult::Failed
        },
        progress: None,
        dropped: false,
        failing_before: paths.clone(),
        failing_after: if commit.is_some() { Vec::new() } else { paths },
        signature_after: None,
        reduced: None,
        next_action: NextAction::None,
        gpu_minutes: 0.0,
        error,
        skipped: Vec::new(),
    };
    Ok((record, commit))
}

/// Python files among `paths` (relative to `dir`) that do not parse.
fn syntax_errors<'a>(dir: &Path, paths: impl Iterator<Item = &'a String>) -> Vec<String> {
    let mut out = Vec::new();
    for p in paths {
        if !p.ends_with(".py") {
            continue;
        }
        let Ok(text) = fs_err::read_to_string(dir.join(p)) else {
            continue;
        };
        if let Some(tree) = crate::analysis::python::parse(&text)
            && tree.root_node().has_error()
        {
            out.push(format!("{p} does not parse as Python"));
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Writes `conflicts/<path>.base|.ours|.theirs` and `conflicts.json` into
/// the attempt's folder and returns the failure the fixer is given.
fn write_context(
    ctx: StagedRun<'_>,
    journal: &Journal,
    staged: &Staged,
    files: &[ConflictFile],
    context_dir: &Path,
) -> Result<Failure, TransactionError> {
    crate::state::create_private_dir(context_dir).map_err(FixError::io("create", context_dir))?;
    let oid = |s: &str| Oid::from_str(s).unwrap_or(Oid::ZERO_SHA1);
    let commits = (oid(&journal.from), oid(&staged.base), oid(&journal.to));
    let prefix = ctx
        .up
        .path
        .to_string_lossy()
        .trim_end_matches('/')
        .to_owned();
    let mut entries = Vec::new();
    let mut detail = String::new();
    for f in files {
        let text = fs_err::read_to_string(staged.dir.join(&f.path)).unwrap_or_default();
        let hunks = hunks_in(&f.path, &text);
        let versions = conflict_versions(&staged.dir, &prefix, &f.path, commits)?;
        let side = |name: &str, bytes: &Option<Vec<u8>>| -> Result<Option<String>, FixError> {
            let Some(bytes) = bytes else { return Ok(None) };
            let rel = format!("conflicts/{}.{name}", f.path);
            let path = context_dir.join(&rel);
            if let Some(parent) = path.parent() {
                fs_err::create_dir_all(parent).map_err(FixError::io("create", parent))?;
            }
            fs_err::write(&path, bytes).map_err(FixError::io("write", &path))?;
            Ok(Some(rel))
        };
        let entry = ConflictEntry {
            path: f.path.clone(),
            reason: f.reason.clone(),
            hunks: hunks.iter().map(|h| [h.start, h.end]).collect(),
            base: side("base", &versions.base)?,
            ours: side("ours", &versions.ours)?,
            theirs: side("theirs", &versions.theirs)?,
        };
        detail.push_str(&format!("{}: {}\n", f.path, f.reason));
        for h in &hunks {
            detail.push_str(&format!("  conflict at lines {}-{}\n", h.start, h.end));
        }
        for (name, rel) in [
            ("base", &entry.base),
            ("ours (the wrapper's)", &entry.ours),
            ("theirs (the upstream target's)", &entry.theirs),
        ] {
            let at = rel.as_deref().unwrap_or("(no such file on that side)");
            detail.push_str(&format!("  {name}: {at}\n"));
        }
        entries.push(entry);
    }
    let json_path = context_dir.join("conflicts.json");
    let json = serde_json::to_vec_pretty(&entries).unwrap_or_default();
    fs_err::write(&json_path, json).map_err(FixError::io("write", &json_path))?;
    let paths: Vec<String> = files.iter().map(|f| f.path.clone()).collect();
    Ok(Failure {
        case: "merge".into(),
        model: ctx.up.name.clone(),
        params: serde_json::Map::new(),
        signature: format!("local-mod-conflict {}", paths.join(" ")),
        message: format!("unresolved merge conflict in {}", paths.join(", ")),
        class: FailureClass::LocalModConflict { files: paths },
        detail,
        log_dir: context_dir.to_path_buf(),
        integration_points: Vec::new(),
        target: None,
    })
}
