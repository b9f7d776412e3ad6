//! A paused update (staging left conflicts nobody resolved) and its two
//! ways out: `tether update --continue` (no marker may be left; the
//! resolution is committed on the staged branch with the upstream bump's
//! message, then the baseline, the fix loop and promotion or rollback run as
//! in any update) and `tether update --abort` (rolled back, the journal
//! archived). Both are journaled: a kill before `--continue` journals its
//! commit leaves the update paused; after that, before promotion, the next
//! command rolls it back (the live wrapper as it was); an interrupted
//! `--abort` is finished by the next command.

use super::conflicts::bump_message;
use super::error::TransactionError;
use super::staged_run::StagedRun;
use super::transaction::{Plan, settle, test_fix_promote};
use super::update_report::{UpdateOptions, UpdateOutcome, UpdateReport};
use crate::analysis::{self, AnalyzeOptions};
use crate::config::Config;
use crate::state::{StateDir, StateLock};
use crate::update::{Backup, Journal, JournalState, markers_left, recover, rollback};
use crate::upstream::Mirror;

/// The error a new update gets while `j` is paused.
pub(super) fn paused_error(j: &Journal) -> TransactionError {
    TransactionError::Paused {
        id: j.id.clone(),
        upstream: j.upstream.clone(),
        staged_dir: j.staged_dir.clone(),
        files: crate::text::cut_list(&j.conflicts, crate::text::MESSAGE_ITEMS),
    }
}

/// Recovers anything interrupted, then loads the paused update's journal.
fn load_paused(cfg: &Config, action: &'static str) -> Result<Journal, TransactionError> {
    let state = StateDir::new(&cfg.project.state_dir);
    recover(cfg)?;
    match Journal::load(&state)? {
        Some(j) if j.state == JournalState::Paused => Ok(j),
        _ => Err(TransactionError::NoPausedUpdate(action)),
    }
}

/// `tether update --continue`: finishes the paused update after a person
/// resolved its conflicts in the staged tree.
pub fn continue_update(
    cfg: &Config,
    opts: &UpdateOptions,
) -> Result<UpdateReport, TransactionError> {
    let state = StateDir::new(&cfg.project.state_dir);
    let _lock = StateLock::acquire(&state, "update --continue")?;
    let mut journal = load_paused(cfg, "continue")?;
    let Some(up) = cfg.upstreams.iter().find(|u| u.name == journal.upstream) else {
        return Err(TransactionError::PausedUpstreamGone {
            id: journal.id.clone(),
            upstream: journal.upstream.clone(),
        });
    };
    let backup = Backup::load(&journal.backup_dir)?;
    let dir = journal.staged_dir.clone();
    let markers = markers_left(&backup, &dir, &journal.conflicts)?;
    if !markers.is_empty() {
        return Err(TransactionError::MarkersLeft {
            id: journal.id.clone(),
            staged_dir: dir,
            markers,
        });
    }
    let message = bump_message(&up.name, &journal.to);
    let (head, _) = crate::update::commit_resolution(cfg, &backup, &dir, &message)?;
    crate::failpoint::hit("update.continue.committed");
    journal.continued = true;
    journal.staged_head = Some(head.clone());
    journal.advance(
        &state,
        JournalState::Staged,
        Some("conflicts resolved; continued by `tether update --continue`".into()),
    )?;

    let mirror = Mirror::open_existing(&state, up)?;
    let report_dir = cfg
        .project
        .outputs_dir
        .join(format!("update-{}", journal.id));
    let mut report = UpdateReport::new(&up.name);
    report.id = Some(journal.id.clone());
    report.report_dir = Some(report_dir.clone());
    report.staged_commit = Some(head);
    report.conflicts = journal.conflicts.clone();
    report.notes.push(format!(
        "continued after the conflicts in {} were resolved in the staged tree",
        crate::text::cut_list(&journal.conflicts, crate::text::MESSAGE_ITEMS)
    ));
    let oid = |s: &str| git2::Oid::from_str(s).ok();
    report.from = oid(&journal.from).and_then(|o| mirror.commit_info(o).ok());
    report.to = oid(&journal.to).and_then(|o| mirror.commit_info(o).ok());
    let analysed = match analysis::analyze(
        cfg,
        up,
        &AnalyzeOptions {
            to: Some(journal.to.clone()),
            fetch: false,
            peers: Default::default(),
        },
    ) {
        Ok(a) => Some(a),
        Err(e) => {
            report.notes.push(format!(
                "the analysis could not be redone ({e}); the fix loop runs without it"
            ));
            None
        }
    };
    if let Some(a) = &analysed {
        report.commits = a.analysis.commits.len();
        report.analysis_dir = Some(a.dir.clone());
        report.analysis_verdict = Some(a.analysis.verdict());
    }
    let target = oid(&journal.to).unwrap_or(git2::Oid::ZERO_SHA1);
    let ctx = StagedRun {
        cfg,
        up,
        mirror: &mirror,
        backup: &backup,
        peers: &[],
        fixed: &[],
    };
    let plan = Plan {
        target,
        analysis: analysed.as_ref().map(|a| &a.analysis),
        report_dir: &report_dir,
        opts,
    };
    let upstream_dir = dir.join(&up.path);
    let result = test_fix_promote(ctx, &mut journal, &plan, (&dir, &upstream_dir), &mut report);
    settle(cfg, &mut journal, result, report, &report_dir)
}

/// `tether update --abort`: rolls the paused update back (the live wrapper
/// is checked byte for byte against the backup) and archives its journal.
pub fn abort(cfg: &Config) -> Result<UpdateReport, TransactionError> {
    let state = StateDir::new(&cfg.project.state_dir);
    let _lock = StateLock::acquire(&state, "update --abort")?;
    let mut journal = load_paused(cfg, "abort")?;
    journal.advance(
        &state,
        JournalState::Aborting,
        Some("`tether update --abort`".into()),
    )?;
    crate::failpoint::hit("update.abort.started");
    let reason = "aborted by `tether update --abort` while paused on conflicts";
    let rb = rollback(cfg, &mut journal, &state, reason)?;
    journal.archive(&state)?;
    let report_dir = cfg
        .project
        .outputs_dir
        .join(format!("update-{}", journal.id));
    let mut report = UpdateReport::new(&journal.upstream);
    report.id = Some(journal.id.clone());
    report.conflicts = journal.conflicts.clone();
    report.rollback = Some(rb);
    report.outcome = UpdateOutcome::RolledBack {
        reason: reason.to_owned(),
    };
    report.finished = crate::env::now();
    if report_dir.is_dir() {
        report.report_dir = Some(report_dir.clone());
        super::transaction::write_report(&report_dir, &report)?;
    }
    Ok(report)
}
