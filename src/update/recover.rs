//! Owns recovery from an update a crash (or kill -9) interrupted: run at the
//! start of every command that takes the state lock. An unfinished journal
//! before `Promoting` is rolled back; at `Promoting` the promotion record
//! decides: finished when the commit point (the wrapper's branch) already
//! moved, undone otherwise, path by path, never overwriting a file that is
//! neither tether's old nor its new version. A journal that cannot be read
//! is moved aside and recovery refuses to guess. A paused update (conflicts
//! waiting for `tether update --continue` or `--abort`) is a resting state
//! and is left alone; a `--continue` interrupted before promotion is rolled
//! back like any update, an interrupted `--abort` is finished. Says what it
//! did, in words.

use serde::Serialize;

use super::error::UpdateError;
use super::git_ops::short;
use super::journal::{Journal, JournalState};
use super::moves::{Direction, Settler};
use super::promote::drop_all_refs;
use super::record::interrupted_record;
use super::rollback::{RollbackReport, rollback};
use crate::config::Config;
use crate::failpoint;
use crate::state::StateDir;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RecoveryAction {
    /// The update was rolled back.
    RolledBack,
    /// The interrupted promotion was finished.
    Promoted,
    /// The update had finished; its journal was filed.
    Archived,
}

/// What recovery did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Recovery {
    pub id: String,
    pub upstream: String,
    /// The state the journal was left in.
    pub found: JournalState,
    pub action: RecoveryAction,
    /// One sentence saying what happened.
    pub message: String,
    /// Rollback: how the live wrapper differs from the backup (empty:
    /// identical); promotion: what was moved.
    pub details: Vec<String>,
    pub rollback: Option<RollbackReport>,
}

/// Recovers an interrupted update, if the state dir has one. The caller
/// holds the state lock.
pub fn recover(cfg: &Config) -> Result<Option<Recovery>, UpdateError> {
    let state = StateDir::new(&cfg.project.state_dir);
    let Some(mut journal) = Journal::load(&state)? else {
        return Ok(None);
    };
    let found = journal.state;
    let id = journal.id.clone();
    let upstream = journal.upstream.clone();
    let what = format!("update {id} of {}", journal.subject());
    if found == JournalState::Paused {
        return Ok(None);
    }
    // a crash while parking, or before an approval moved anything: the
    // update stays parked
    if super::parked::parked_journal(&state, &journal)? {
        return Ok(None);
    }
    if found.is_final() {
        journal.archive(&state)?;
        super::parked::remove_parked(&state, &journal.id)?;
        return Ok(Some(Recovery {
            message: format!("{what} had finished ({found}); filed its journal"),
            id,
            upstream,
            found,
            action: RecoveryAction::Archived,
            details: Vec::new(),
            rollback: None,
        }));
    }
    let reason = format!("interrupted while {found}; rolled back by recovery");
    if found != JournalState::Promoting {
        let how = match (found, journal.continued) {
            (JournalState::Aborting, _) => "aborting; finished the abort".to_owned(),
            (_, true) => format!(
                "{found} after `tether update --continue`; rolled it back (staged tree and its \
                 resolution discarded)"
            ),
            _ => format!("{found}; rolled it back (staged tree discarded)"),
        };
        return rolled_back(
            cfg,
            &state,
            journal,
            &reason,
            format!("{what} was interrupted while {how}"),
        );
    }
    let record = interrupted_record(&state, cfg, &journal)?;
    let direction = record.direction()?;
    record.apply(direction, Settler::Recovery)?;
    failpoint::hit("recover.settled");
    drop_all_refs(&record.trees);
    if direction == Direction::Backward {
        return rolled_back(
            cfg,
            &state,
            journal,
            &reason,
            format!(
                "{what} was interrupted while promoting before the wrapper moved; rolled it back"
            ),
        );
    }
    let to = record
        .trees
        .last()
        .map(|t| short(t.after.commit))
        .unwrap_or_default();
    let details = record
        .trees
        .iter()
        .filter(|t| t.moves_head())
        .map(|t| format!("{} is at {}", t.root.display(), t.after.commit))
        .collect();
    journal.advance(
        &state,
        JournalState::Promoted,
        Some("finished by recovery".into()),
    )?;
    journal.archive(&state)?;
    super::parked::remove_parked(&state, &journal.id)?;
    Ok(Some(Recovery {
        message: format!(
            "{what} was interrupted while promoting; the wrapper had already moved to {to}, so \
             the promotion was finished (marked promoted)"
        ),
        id,
        upstream,
        found,
        action: RecoveryAction::Promoted,
        details,
        rollback: None,
    }))
}

fn rolled_back(
    cfg: &Config,
    state: &StateDir,
    mut journal: Journal,
    reason: &str,
    message: String,
) -> Result<Option<Recovery>, UpdateError> {
    let found = journal.state;
    let report = rollback(cfg, &mut journal, state, reason)?;
    journal.archive(state)?;
    // an approved update that was interrupted is over either way
    super::parked::remove_parked(state, &journal.id)?;
    let message = if report.differences.is_empty() {
        format!("{message}; the live wrapper is as it was")
    } else {
        format!(
            "{message}; the live wrapper differs from the backup in {} way(s)",
            report.differences.len()
        )
    };
    Ok(Some(Recovery {
        id: journal.id.clone(),
        upstream: journal.upstream.clone(),
        found,
        action: RecoveryAction::RolledBack,
        message,
        details: report.differences.clone(),
        rollback: Some(report),
    }))
}
